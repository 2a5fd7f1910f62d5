// Package proc starts programs in process groups of their own and stops
// them as docker stop or Ctrl-C would: SIGTERM to the group, a wait, then
// SIGKILL. internal/infra/stack (which the runner, make check, make bench and
// the end-to-end tests start steps through) and internal/infra/jaeger start
// their programs with it.
package proc

import (
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ErrStopTimeout is what Stop returns when the process had not exited when
// its time was up, and was killed.
var ErrStopTimeout = errors.New("did not exit in time after SIGTERM; killed it")

// Process is a program started by Start.
type Process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // how it exited, once exited is closed
}

// Start starts cmd in a process group of its own, so that Stop and Kill
// reach anything it starts too, and so that a Ctrl-C in the terminal
// reaches only the program that started it, which can then stop it in
// order. On Linux it is killed if the program that started it dies without
// stopping it (a panic, go test's -timeout, a SIGKILL), so that it never
// outlives that program holding its ports.
//
// Its stdout and stderr both go to out (nil: discarded). name stands for
// it in errors.
func Start(name string, out io.Writer, cmd *exec.Cmd) (*Process, error) {
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	// A grandchild holding the output pipe open must not hang Wait.
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Process{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Name returns the name the process was started with.
func (p *Process) Name() string { return p.name }

// Pid returns the process's ID, which is also its group's.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited returns a channel that is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Err returns how the process exited: nil for status 0, an *exec.ExitError
// otherwise. It is nil too while the process runs.
func (p *Process) Err() error {
	if p.Running() {
		return nil
	}
	return p.err
}

// ExitCode returns the process's exit status, or -1 if it is still running
// or was killed by a signal.
func (p *Process) ExitCode() int {
	if p.Running() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Stop sends SIGTERM to the process's group and waits up to timeout for
// the process to exit; then it kills the group (SIGKILL) and waits for the
// exit. It returns ErrStopTimeout if it had to kill, and otherwise how the
// process exited (see Err), which Signaled tells apart from an exit of its
// own. A process that had exited before is not signalled: Stop returns how
// it exited.
func (p *Process) Stop(timeout time.Duration) error {
	if !p.Running() {
		return p.err
	}
	p.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(timeout):
		p.Kill()
		return ErrStopTimeout
	}
}

// Kill kills the process's group at once (SIGKILL), as a crash would, and
// waits until the process is gone. It does nothing if the process has
// exited.
func (p *Process) Kill() {
	if !p.Running() {
		return
	}
	p.Signal(syscall.SIGKILL)
	<-p.exited
}

// Signaled reports whether err, as Err returns it, is the exit of a
// process killed by sig.
func Signaled(err error, sig syscall.Signal) bool {
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return false
	}
	status, ok := exit.Sys().(syscall.WaitStatus)
	return ok && status.Signaled() && status.Signal() == sig
}

// Set holds processes until they exit, so that all of them can be killed
// at once: on a second Ctrl-C, or when a test binary ends. The zero Set is
// empty and ready to use.
type Set struct {
	mu sync.Mutex
	m  map[*Process]struct{}
}

// Add adds p to the set until it exits.
func (s *Set) Add(p *Process) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[*Process]struct{}{}
	}
	s.m[p] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-p.exited
		s.mu.Lock()
		delete(s.m, p)
		s.mu.Unlock()
	}()
}

// KillAll kills every process of the set that is still running, all at
// once, and waits until they are gone.
func (s *Set) KillAll() {
	s.mu.Lock()
	procs := make([]*Process, 0, len(s.m))
	for p := range s.m {
		procs = append(procs, p)
	}
	s.mu.Unlock()
	for _, p := range procs {
		p.Signal(syscall.SIGKILL)
	}
	for _, p := range procs {
		<-p.exited
	}
}
