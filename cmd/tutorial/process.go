//go:build !windows

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
)

// stopTimeout is how long redis-server may take to exit after SIGTERM
// before it is killed. A program of the step gets its drain
// (topology.Program.Drain).
const stopTimeout = 10 * time.Second

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
