//go:build !windows

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// A running step listens on a Unix socket, <cache>/running/<pid>.sock,
// beside the record that cmd/trace reads (<pid>.json). `tutorial stop
// cleaner`, from another terminal, finds the most recent socket of a
// runner still alive, sends one request as a line of JSON and prints the
// one answer. Only the learner's own user can connect (the socket is
// 0600, in their cache).

type controlRequest struct {
	Verb string `json:"verb"`
	Part string `json:"part,omitempty"`
}

type controlReply struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

const controlUsage = `usage: tutorial VERB PART      (against the step that make run is running)
       tutorial status         (what runs, what is stopped or paused)

The verbs:
%s
The parts: the step's programs (gateway, contributors, cleaner; in steps 1
to 5 its one program, step3), redis and jaeger. A part that dies, killed or
crashed, leaves the rest running.

flags:
  -pid N   the runner to talk to (its pid), if more than one runs
`

func controlUsageText() string {
	var b strings.Builder
	for _, v := range verbs {
		fmt.Fprintf(&b, "  %-8s %s\n", v[0], v[1])
	}
	return fmt.Sprintf(controlUsage, b.String())
}

// controlDir holds the runners' sockets.
func controlDir() (string, error) {
	cache, err := paths.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "running"), nil
}

// serveControl listens for the learner's requests until the step stops.
func (r *runner) serveControl(ctx context.Context) error {
	dir, err := controlDir()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, strconv.Itoa(os.Getpid())+".sock")
	os.Remove(path) // a runner of the same pid, long gone
	l, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return err
	}
	r.addCloser(func() error { l.Close(); os.Remove(path); return nil })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return // closed: the step stops
			}
			go r.serveRequest(ctx, conn)
		}
	}()
	return nil
}

func (r *runner) serveRequest(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var req controlRequest
	line, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err != nil {
		json.NewEncoder(conn).Encode(controlReply{Message: "a bad request: " + err.Error()})
		return
	}
	msg, err := r.do(ctx, req.Verb, req.Part)
	reply := controlReply{OK: err == nil, Message: msg}
	if err != nil {
		reply.Message = err.Error()
	}
	if req.Verb != "status" {
		// The learner watches the runner's terminal too.
		r.console.Printf("\n$ tutorial %s %s\n%s\n", req.Verb, req.Part, reply.Message)
	}
	json.NewEncoder(conn).Encode(reply)
}

// controlMain is `tutorial VERB PART` and `tutorial status`: it returns
// the exit status.
func controlMain(args []string, stdout, stderr io.Writer) int {
	verb := args[0]
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, controlUsageText()) }
	pid := fs.Int("pid", 0, "")
	var rest []string
	for list := args[1:]; ; { // flags before or after the part
		if err := fs.Parse(list); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		list = fs.Args()[1:]
	}
	switch {
	case verb == "status" && len(rest) != 0, verb != "status" && len(rest) != 1:
		fmt.Fprint(stderr, controlUsageText())
		return 2
	}
	req := controlRequest{Verb: verb}
	if len(rest) == 1 {
		req.Part = rest[0]
	}
	reply, err := sendControl(*pid, req)
	if err != nil {
		fmt.Fprintln(stderr, "tutorial:", err)
		return 1
	}
	if !reply.OK {
		fmt.Fprintln(stderr, "tutorial:", reply.Message)
		return 1
	}
	fmt.Fprintln(stdout, strings.TrimRight(reply.Message, "\n"))
	return 0
}

// sendControl sends req to the runner pid (0: the most recent one alive)
// and returns its answer.
func sendControl(pid int, req controlRequest) (controlReply, error) {
	conn, err := dialRunner(pid)
	if err != nil {
		return controlReply{}, err
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return controlReply{}, err
	}
	var reply controlReply
	if err := json.NewDecoder(conn).Decode(&reply); err != nil {
		return controlReply{}, fmt.Errorf("no answer from the running step: %w", err)
	}
	return reply, nil
}

var errNotRunning = errors.New("no step is running: start one first, in another terminal (make run STEP=7), then try again")

// dialRunner connects to runner pid, or to the most recently started
// runner alive. A socket left by a runner that died is removed.
func dialRunner(pid int) (net.Conn, error) {
	dir, err := controlDir()
	if err != nil {
		return nil, err
	}
	socks, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
	type found struct {
		path string
		pid  int
		mod  time.Time
	}
	var alive []found
	for _, path := range socks {
		n, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(path), ".sock"))
		if err != nil {
			continue
		}
		info, err := os.Stat(path)
		if err != nil {
			continue
		}
		if err := syscall.Kill(n, 0); err != nil && !errors.Is(err, syscall.EPERM) {
			os.Remove(path)
			continue
		}
		if pid == 0 || pid == n {
			alive = append(alive, found{path, n, info.ModTime()})
		}
	}
	if len(alive) == 0 {
		if pid != 0 {
			return nil, fmt.Errorf("no step is running as pid %d", pid)
		}
		return nil, errNotRunning
	}
	slices.SortFunc(alive, func(a, b found) int { return b.mod.Compare(a.mod) })
	conn, err := net.DialTimeout("unix", alive[0].path, 2*time.Second)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			os.Remove(alive[0].path) // its runner is gone, and another took its pid
			return nil, errNotRunning
		}
		return nil, err
	}
	return conn, nil
}
