package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/proc"
	"github.com/tracing-tutorial/tutorial/internal/topology"
)

// stopTimeout is how long redis-server may take to exit after SIGTERM
// before it is killed. A program of the step gets its drain (below).
const stopTimeout = 10 * time.Second

// exitGrace is how long a program takes to exit once its requests are
// done: it flushes its last spans to Jaeger.
const exitGrace = 3 * time.Second

// drain is how long program p, run with env, may take to finish the
// requests it has in flight after SIGTERM: the runner waits that long (and
// exitGrace) before it kills it, so that a Ctrl-C during a slow request
// still answers it. Each figure is what the program's main.go gives its
// server's Shutdown: its longest request.
func drain(step topology.Step, p topology.Program, env map[string]string) time.Duration {
	reply := 15 * time.Second // REPLY_TIMEOUT's default
	if d, err := time.ParseDuration(env["REPLY_TIMEOUT"]); err == nil && d > 0 {
		reply = d
	}
	switch {
	case len(step.Programs) == 1:
		return 30 * time.Second // the monolith's WriteTimeout
	case label(step, p) == "gateway":
		// Its HTTP client's 12 s for the contributors service, the
		// cleaner's REPLY_TIMEOUT, 5 s for Redis.
		return 12*time.Second + reply + 5*time.Second
	case label(step, p) == "contributors":
		return 10*time.Second + 5*time.Second // GitHub's timeout, and a little more
	default:
		// The cleaner: 5 s for its /healthz, and the job in hand, which
		// nobody waits for after its deadline.
		return 5*time.Second + reply
	}
}

// process is a program the runner started, in a process group of its own:
// Ctrl-C in the terminal reaches only the runner, which then stops
// everything in order, and stopping a program reaches anything it started.
// On Linux it dies with the runner (a crash, a SIGKILL), so no program
// outlives the runner holding its port.
type process struct {
	*proc.Process
	output  *proc.Tail    // the end of its output, for error messages
	timeout time.Duration // how long stop waits after SIGTERM: stopTimeout if 0
}

// running holds every process started and not yet exited, so that a second
// Ctrl-C can kill them all.
var running proc.Set

// startProcess runs binary with env (the whole environment) and writes
// its output to out, as well as keeping the end of it.
func startProcess(name string, out io.Writer, env []string, binary string, args ...string) (*process, error) {
	p := &process{output: proc.NewTail(16 << 10)}
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	started, err := proc.Start(name, io.MultiWriter(out, p.output), cmd)
	if err != nil {
		return nil, err
	}
	p.Process = started
	running.Add(started)
	return p, nil
}

// lastLines is the end of the process's output, for an error message.
func (p *process) lastLines() string {
	return proc.LastLines(p.output.String(), 30)
}

// stop sends SIGTERM to the process's group and waits for it to exit,
// killing it after its timeout. It returns an error if the process does not
// exit cleanly. A process that had exited before is left to whoever saw it
// exit to report.
func (p *process) stop() error {
	if !p.Running() {
		return nil
	}
	timeout := cmp.Or(p.timeout, stopTimeout)
	switch err := p.Stop(timeout); {
	case errors.Is(err, proc.ErrStopTimeout):
		return fmt.Errorf("%s did not stop within %s; killed it", p.Name(), timeout)
	case err != nil && !proc.Signaled(err, syscall.SIGTERM):
		return fmt.Errorf("%s exited with %v", p.Name(), err)
	}
	return nil
}

// console is the terminal the runner and its programs share. Writes are
// whole lines, so that the programs' logs and the runner's messages never
// cut into each other.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

func newConsole(out *os.File) *console { return &console{out: out} }

// Printf writes a message of the runner's.
func (c *console) Printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

// Write writes p at once: a trace, for one.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

// prefixed returns a writer that prefixes every line written to it, as
// "gateway      | ", and passes only whole lines on.
func (c *console) prefixed(prefix string) io.Writer {
	return &prefixWriter{console: c, prefix: prefix}
}

type prefixWriter struct {
	console *console
	prefix  string
	partial []byte // an unfinished last line
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	last := bytes.LastIndexByte(w.partial, '\n')
	if last < 0 {
		return len(p), nil
	}
	var b strings.Builder
	for line := range strings.Lines(string(w.partial[:last+1])) {
		b.WriteString(w.prefix)
		b.WriteString(line)
	}
	w.partial = append(w.partial[:0], w.partial[last+1:]...)
	_, err := io.WriteString(w.console, b.String())
	return len(p), err
}
