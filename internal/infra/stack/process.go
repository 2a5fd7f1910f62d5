package stack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// StopTimeout is how long a process may take to exit after SIGTERM when
// its Command sets no other: the steps shut down gracefully, and one that
// takes longer is a bug.
const StopTimeout = 10 * time.Second

// running holds every process started and not yet exited, for KillAll.
var running proc.Set

// KillAll kills every process this package started that still runs, at
// once: on a second Ctrl-C, or when a test binary ends.
func KillAll() { running.KillAll() }

// Command is a process to start.
type Command struct {
	Name   string // stands for it in messages: "gateway", "redis-server"
	Binary string
	Args   []string
	Env    []string // its whole environment
	// Output receives what it writes as it writes it; nil keeps all of it
	// in memory instead, for Output (a test reads its log lines). Either
	// way the end of it is kept for error messages.
	Output io.Writer
	// StopTimeout is how long Stop waits after SIGTERM before it kills;
	// 0 is the package's StopTimeout.
	StopTimeout time.Duration
	// Ready, if set, says when a start is ready (listens, answers); Start
	// and Restart wait for it.
	Ready func(ctx context.Context, p *Process) error
}

// Process is a program started by StartProcess, in a process group of its
// own (proc.Start): it can be stopped, killed, paused and started again
// with the same environment.
type Process struct {
	cmd  Command
	kept interface {
		io.Writer
		String() string
	}

	mu  sync.Mutex
	run *run // the latest start
}

// run is one start of a Process.
type run struct {
	*proc.Process
	tail *proc.Tail // this start's output, for "address already in use"
	// expected is set once its exit was asked for or waited for: then an
	// exit is no surprise.
	expected atomic.Bool
}

// StartProcess starts c and, if c.Ready is set, waits until it is ready.
// A process that exits or is not ready in time is killed, and its output
// is in the error; the Process is returned with the error then, to look
// at its output.
func StartProcess(ctx context.Context, c Command) (*Process, error) {
	p := &Process{cmd: c}
	if c.Output == nil {
		p.kept = new(proc.Buffer)
	} else {
		p.kept = proc.NewTail(64 << 10)
	}
	if err := p.start(ctx); err != nil {
		if p.current() == nil {
			return nil, err
		}
		return p, err // started, not ready, killed: its output says why
	}
	return p, nil
}

func (p *Process) start(ctx context.Context) error {
	cmd := exec.Command(p.cmd.Binary, p.cmd.Args...)
	cmd.Env = p.cmd.Env
	r := &run{tail: proc.NewTail(16 << 10)}
	out := io.MultiWriter(p.kept, r.tail)
	if p.cmd.Output != nil {
		out = io.MultiWriter(p.cmd.Output, p.kept, r.tail)
	}
	started, err := proc.Start(p.cmd.Name, out, cmd)
	if err != nil {
		return err
	}
	running.Add(started)
	r.Process = started
	p.mu.Lock()
	p.run = r
	p.mu.Unlock()
	if p.cmd.Ready == nil {
		return nil
	}
	if err := p.cmd.Ready(ctx, p); err != nil {
		r.expected.Store(true)
		if !r.Running() { // its exit says more than what it did not do
			err = fmt.Errorf("exited (%v) before it was ready", r.Err())
		}
		r.Kill()
		return fmt.Errorf("%s did not start: %w\n%s", p.cmd.Name, err, p.LastLines(20))
	}
	return nil
}

func (p *Process) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

// Name returns the name it was started with.
func (p *Process) Name() string { return p.cmd.Name }

// Pid returns the latest start's process ID.
func (p *Process) Pid() int { return p.current().Pid() }

// Exited returns a channel that is closed when the latest start exits.
func (p *Process) Exited() <-chan struct{} { return p.current().Exited() }

// Running reports whether the latest start has not exited.
func (p *Process) Running() bool { return p.current().Running() }

// Err returns how the latest start exited (nil while it runs).
func (p *Process) Err() error { return p.current().Err() }

// Stop stops the process as docker stop or Ctrl-C would: SIGTERM, then a
// wait, then SIGKILL. It returns an error if the process exits with an
// error (a SIGTERM it did not handle, too), takes longer than its stop
// timeout, or had already exited with an error nobody expected. Stopping a
// stopped process does nothing.
func (p *Process) Stop() error {
	r := p.current()
	if !r.Running() {
		if r.expected.Swap(true) || r.Err() == nil {
			return nil
		}
		return fmt.Errorf("%s had exited on its own: %w\n%s", p.cmd.Name, r.Err(), p.LastLines(20))
	}
	r.expected.Store(true)
	resume(r.Process) // a paused process could not act on SIGTERM
	timeout := p.StopTimeout()
	switch err := r.Stop(timeout); {
	case errors.Is(err, proc.ErrStopTimeout):
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed it\n%s", p.cmd.Name, timeout, p.LastLines(20))
	case err != nil:
		return fmt.Errorf("%s exited with %w after SIGTERM\n%s", p.cmd.Name, err, p.LastLines(20))
	}
	return nil
}

// Kill kills the process at once (SIGKILL), as a crash would, and waits
// until it is gone.
func (p *Process) Kill() {
	r := p.current()
	r.expected.Store(true)
	r.Kill()
}

// StopTimeout is how long Stop waits after SIGTERM before it kills.
func (p *Process) StopTimeout() time.Duration { return cmp.Or(p.cmd.StopTimeout, StopTimeout) }

// Signal sends sig to the latest start's process group.
func (p *Process) Signal(sig syscall.Signal) { p.current().Signal(sig) }

// Expect marks the latest start's exit, if it comes, as no surprise: Stop
// will not report it. (The runner says itself that a part died.)
func (p *Process) Expect() { p.current().expected.Store(true) }

// Wait waits up to timeout for the process to exit by itself and returns
// how it exited, for a program that must refuse to start.
func (p *Process) Wait(timeout time.Duration) error {
	r := p.current()
	select {
	case <-r.Exited():
		r.expected.Store(true)
		return r.Err()
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %s", p.cmd.Name, timeout)
	}
}

// Restart starts the process again with the same command, stopping it
// first if it runs, and waits until it is ready. Its output goes on after
// a marker line.
func (p *Process) Restart(ctx context.Context) error {
	if err := p.Stop(); err != nil {
		return fmt.Errorf("restarting: %w", err)
	}
	fmt.Fprintf(p.kept, "--- %s restarted ---\n", p.cmd.Name)
	return p.start(ctx)
}

// Output returns what the process wrote: all of it, or its end when the
// Command had an Output.
func (p *Process) Output() string { return p.kept.String() }

// LastLines returns the last n lines of its output, for an error message.
func (p *Process) LastLines(n int) string { return proc.LastLines(p.Output(), n) }

// portTaken reports whether the latest start exited saying that its
// address was in use. The exit is then no surprise.
func (p *Process) portTaken() bool {
	r := p.current()
	if r.Running() || !strings.Contains(strings.ToLower(r.tail.String()), "address already in use") {
		return false
	}
	r.expected.Store(true)
	return true
}
