package e2e

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/proc"
)

// stopTimeout is how long a program may take to exit after SIGTERM. The
// steps shut down gracefully; one that takes longer is a bug. (A variable
// for the harness's own test.)
var stopTimeout = 10 * time.Second

// Process is a program a test started.
type Process struct {
	name   string
	binary string
	env    map[string]string
	args   []string
	out    proc.Buffer

	mu  sync.Mutex
	run *run // the latest start
}

// run is one start of a Process.
type run struct {
	*proc.Process
	outStart int // where this start's output begins in the Process's
	// expected is set once the test stopped or killed the process or
	// waited for its exit: then an exit is no surprise.
	expected atomic.Bool
}

// Start runs binary with args and with env added to the test's environment
// (PORT, GITHUB_API_URL, JAEGER_ENDPOINT...). Its stdout and stderr are
// kept, and logged if the test fails. When the test ends, the process is
// stopped as Stop does, and the test fails if it does not exit cleanly or
// had exited with an error that the test did not expect.
//
// The program runs in a process group of its own, which Stop and Kill
// signal; on Linux it is killed if the test binary dies without stopping
// it (a panic, go test's -timeout), so no program outlives a test run
// holding its port.
func Start(t testing.TB, name, binary string, env map[string]string, args ...string) *Process {
	t.Helper()
	binDir(t)
	p := &Process{name: name, binary: binary, env: env, args: args}
	if err := p.start(); err != nil {
		t.Fatalf("e2e: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("e2e: %v", err)
		}
		if t.Failed() {
			t.Logf("e2e: output of %s:\n%s", p.name, p.Output())
		}
	})
	return p
}

func (p *Process) start() error {
	cmd := exec.Command(p.binary, p.args...)
	cmd.Env = os.Environ()
	for _, key := range slices.Sorted(maps.Keys(p.env)) {
		cmd.Env = append(cmd.Env, key+"="+p.env[key])
	}
	outStart := p.out.Len()
	started, err := proc.Start(p.name, &p.out, cmd)
	if err != nil {
		return err
	}
	state.running.Add(started)
	p.mu.Lock()
	p.run = &run{Process: started, outStart: outStart}
	p.mu.Unlock()
	return nil
}

func (p *Process) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

// Stop stops the process as docker stop or Ctrl-C would: SIGTERM, then
// wait. It returns an error if the process exits with an error, takes more
// than 10 seconds (then it is killed), or had already exited with an
// error. Stopping a stopped process does nothing.
func (p *Process) Stop() error {
	r := p.current()
	if !r.Running() {
		if r.expected.Swap(true) || r.Err() == nil {
			return nil
		}
		return fmt.Errorf("%s had exited on its own: %w\n%s", p.name, r.Err(), p.lastLines())
	}
	r.expected.Store(true)
	switch err := r.Stop(stopTimeout); {
	case errors.Is(err, proc.ErrStopTimeout):
		return fmt.Errorf("%s did not exit within %s of SIGTERM; killed it\n%s", p.name, stopTimeout, p.lastLines())
	case err != nil:
		return fmt.Errorf("%s exited with %w after SIGTERM\n%s", p.name, err, p.lastLines())
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

// Wait waits up to timeout for the process to exit by itself and returns
// how it exited: nil for status 0, an *exec.ExitError otherwise. For tests
// of a program that must refuse to start.
func (p *Process) Wait(timeout time.Duration) error {
	r := p.current()
	select {
	case <-r.Exited():
		r.expected.Store(true)
		return r.Err()
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %s", p.name, timeout)
	}
}

// Exited returns a channel that is closed when the process (as last
// started) exits.
func (p *Process) Exited() <-chan struct{} {
	return p.current().Exited()
}

// Restart starts the program again with the same environment and
// arguments, stopping it first if it is running. Its output continues in
// Output after a marker line.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	if err := p.Stop(); err != nil {
		t.Fatalf("e2e: restarting: %v", err)
	}
	fmt.Fprintf(&p.out, "--- e2e: %s restarted ---\n", p.name)
	if err := p.start(); err != nil {
		t.Fatalf("e2e: %v", err)
	}
}

// Output returns what the process wrote to stdout and stderr so far.
func (p *Process) Output() string {
	return p.out.String()
}

// runOutput returns the output of the latest start alone.
func (p *Process) runOutput() string {
	return p.Output()[p.current().outStart:]
}

// lastLines is the end of the output, for an error message.
func (p *Process) lastLines() string {
	return proc.LastLines(p.Output(), 20)
}
