//go:build unix

// Package control is how another terminal talks to the step that make
// run is running: `tutorial stop cleaner` is one request, as a line of
// JSON, and one answer.
//
// A running step listens on a Unix socket, <cache>/running/<pid>.sock,
// beside the record that cmd/trace reads (<pid>.json). The client finds
// the most recent socket of a runner still alive. Only the learner's own
// user can connect (the socket is 0600, in their cache).
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
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

// Request is what the learner asks of the running step: a verb, and the
// part it is done to ("" for status).
type Request struct {
	Verb string `json:"verb"`
	Part string `json:"part,omitempty"`
}

// Reply is the running step's answer.
type Reply struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// dir holds the runners' sockets.
func dir() (string, error) {
	cache, err := paths.CacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "running"), nil
}

// Serve listens for the learner's requests and answers each with handle,
// until the returned close is called (when the step stops).
func Serve(ctx context.Context, handle func(context.Context, Request) Reply) (close func() error, err error) {
	dir, err := dir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, strconv.Itoa(os.Getpid())+".sock")
	os.Remove(path) // a runner of the same pid, long gone
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return // closed: the step stops
			}
			go serveRequest(ctx, conn, handle)
		}
	}()
	return func() error { l.Close(); os.Remove(path); return nil }, nil
}

func serveRequest(ctx context.Context, conn net.Conn, handle func(context.Context, Request) Reply) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var req Request
	line, err := bufio.NewReader(io.LimitReader(conn, 4096)).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err != nil {
		json.NewEncoder(conn).Encode(Reply{Message: "a bad request: " + err.Error()})
		return
	}
	json.NewEncoder(conn).Encode(handle(ctx, req))
}

// Send sends req to the runner pid (0: the most recent one alive) and
// returns its answer.
func Send(pid int, req Request) (Reply, error) {
	conn, err := dialRunner(pid)
	if err != nil {
		return Reply{}, err
	}
	defer conn.Close()
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return Reply{}, err
	}
	var reply Reply
	if err := json.NewDecoder(conn).Decode(&reply); err != nil {
		return Reply{}, fmt.Errorf("no answer from the running step: %w", err)
	}
	return reply, nil
}

var errNotRunning = errors.New("no step is running: start one first, in another terminal (make run STEP=7), then try again")

// dialRunner connects to runner pid, or to the most recently started
// runner alive. A socket left by a runner that died is removed.
func dialRunner(pid int) (net.Conn, error) {
	dir, err := dir()
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
