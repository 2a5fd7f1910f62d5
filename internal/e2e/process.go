package e2e

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
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

// portAttempts is how many ports StartOnFreePort and Redis try.
const portAttempts = 3

// StartOnFreePort starts binary as Start does, with env[portKey] (PORT,
// say) set to a port from FreePort, and returns it and the port once the
// program listens there: on Linux, once the program itself holds a socket
// listening on the port, whoever else may answer there.
//
// A port that FreePort found free can be taken before the program binds it
// (by a program of another test binary, or by an outgoing connection);
// then the program exits saying "address already in use", and
// StartOnFreePort starts it again on another port, up to 3 ports in all.
// The test fails if the program exits for another reason, or does not
// listen within 20 seconds. The caller's env is left as it was; Restart
// keeps the port.
func StartOnFreePort(t testing.TB, name, binary string, env map[string]string, portKey string, args ...string) (*Process, int) {
	t.Helper()
	return onFreePort(t, name, func(port int) *Process {
		withPort := maps.Clone(env)
		if withPort == nil {
			withPort = map[string]string{}
		}
		withPort[portKey] = strconv.Itoa(port)
		return Start(t, name, binary, withPort, args...)
	}, (*Process).waitListening)
}

// onFreePort starts a program with start on a port from FreePort, and
// returns it and the port once ready says the program has the port. When
// the program exited because the port was taken, it tries another port.
func onFreePort(t testing.TB, name string, start func(port int) *Process, ready func(p *Process, port int) error) (*Process, int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := FreePort(t)
		p := start(port)
		err := ready(p, port)
		switch {
		case err == nil:
			return p, port
		case !p.portTaken():
			p.exitReported()
			t.Fatalf("e2e: %s did not start on port %d: %v\n%s", name, port, err, p.lastLines())
		case attempt == portAttempts:
			t.Fatalf("e2e: %s: port %d was taken before it could bind it, as were the %d ports before\n%s",
				name, port, attempt-1, p.lastLines())
		}
		t.Logf("e2e: %s: port %d was taken before it could bind it; trying another", name, port)
	}
}

// waitListening waits up to 20 seconds for the process to listen on port.
func (p *Process) waitListening(port int) error {
	r := p.current()
	deadline := time.After(healthyTimeout)
	for {
		ok, err := listening(r.Pid(), port)
		if ok {
			return nil
		}
		select {
		case <-r.Exited():
			return fmt.Errorf("exited (%v) before it listened", r.Err())
		case <-deadline:
			if err == nil {
				err = errors.New("no socket of its own listens there")
			}
			return fmt.Errorf("not listening after %s: %w", healthyTimeout, err)
		case <-time.After(healthyPoll):
		}
	}
}

// portTaken reports whether the latest start of the process has exited
// saying that its address was in use. The exit is then no surprise: Stop
// will not report it.
func (p *Process) portTaken() bool {
	r := p.current()
	if r.Running() || !strings.Contains(strings.ToLower(p.runOutput()), "address already in use") {
		return false
	}
	r.expected.Store(true)
	return true
}

// exitReported marks an exit of the latest start that a failure message
// already shows, so that Stop does not report it again.
func (p *Process) exitReported() {
	if r := p.current(); !r.Running() {
		r.expected.Store(true)
	}
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
