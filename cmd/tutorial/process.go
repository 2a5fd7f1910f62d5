package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a program may take to exit after SIGTERM before
// it is killed. The steps finish the requests in flight first, and the
// slowest request (torvalds/linux in step 2) takes a few seconds.
const stopTimeout = 10 * time.Second

// process is a program the runner started, in a process group of its own.
type process struct {
	name   string
	cmd    *exec.Cmd
	output *lastLines    // the end of its output, for error messages
	exited chan struct{} // closed once it has exited
	err    error         // how it exited, once exited is closed
}

// running holds every process started and not yet exited, so that a second
// Ctrl-C can kill them all.
var running struct {
	mu sync.Mutex
	m  map[*process]bool
}

// startProcess runs binary with env (the whole environment) and writes
// its output to out, as well as keeping the end of it.
func startProcess(name string, out io.Writer, env []string, binary string, args ...string) (*process, error) {
	p := &process{name: name, output: &lastLines{max: 30}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = env
	p.cmd.Stdout = io.MultiWriter(out, p.output)
	p.cmd.Stderr = p.cmd.Stdout
	p.cmd.SysProcAttr = sysProcAttr()
	// A grandchild holding the output pipe open must not hang Wait.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	running.mu.Lock()
	if running.m == nil {
		running.m = map[*process]bool{}
	}
	running.m[p] = true
	running.mu.Unlock()
	go func() {
		p.err = p.cmd.Wait()
		running.mu.Lock()
		delete(running.m, p)
		running.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM to the process's group and waits for it to exit,
// killing it after stopTimeout. It returns an error if the process does not
// exit cleanly. A process that had exited before is left to whoever saw it
// exit to report.
func (p *process) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	p.signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil && !isSignal(p.err, syscall.SIGTERM) {
			return fmt.Errorf("%s exited with %v", p.name, p.err)
		}
		return nil
	case <-time.After(stopTimeout):
		p.signal(syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("%s did not stop within %s; killed it", p.name, stopTimeout)
	}
}

// signal signals the process's group: the program and anything it started.
func (p *process) signal(sig syscall.Signal) {
	syscall.Kill(-p.cmd.Process.Pid, sig) // ESRCH: already gone, fine
}

// killAll kills every running process at once.
func killAll() {
	running.mu.Lock()
	defer running.mu.Unlock()
	for p := range running.m {
		p.signal(syscall.SIGKILL)
	}
}

// isSignal reports whether err is the exit of a process killed by sig.
func isSignal(err error, sig syscall.Signal) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	return ok && status.Signaled() && status.Signal() == sig
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

// lastLines is an io.Writer that keeps the last max lines written to it.
type lastLines struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

func (l *lastLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for line := range strings.Lines(l.part + string(p)) {
		if !strings.HasSuffix(line, "\n") {
			l.part = line
			return len(p), nil
		}
		l.lines = append(l.lines, strings.TrimSuffix(line, "\n"))
		if len(l.lines) > l.max {
			l.lines = l.lines[1:]
		}
	}
	l.part = ""
	return len(p), nil
}

func (l *lastLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(append(l.lines, l.part), "\n")
}
