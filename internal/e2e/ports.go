package e2e

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/ports"
)

// FreePort returns a TCP port that is free on 127.0.0.1 right now, and
// that FreePort has not returned before in this test binary: no test gets
// the port of another test's stopped program (which that test may start
// again) or of its "unreachable" service. The port can still be taken
// before the test's program binds it, by a program of another test binary
// or an outgoing connection; StartOnFreePort and Redis try another port
// then.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("e2e: finding a free port: %v", err)
	}
	return port
}

// handed are the ports FreePort handed out.
var handed struct {
	mu    sync.Mutex
	given map[int]bool
}

func freePort() (int, error) {
	handed.mu.Lock()
	defer handed.mu.Unlock()
	// Each port the kernel offers stays bound until FreePort returns, so
	// that it offers another one next time.
	var releases []func()
	defer func() {
		for _, release := range releases {
			release()
		}
	}()
	for range 100 {
		port, release, err := kernelPort()
		if err != nil {
			return 0, err
		}
		releases = append(releases, release)
		if !handed.given[port] {
			if handed.given == nil {
				handed.given = map[int]bool{}
			}
			handed.given[port] = true
			return port, nil
		}
	}
	return 0, errors.New("the kernel offered 100 ports in a row that were handed out before")
}

// kernelPort asks the kernel for a port free on 127.0.0.1, and holds it
// until release is called. (A variable for the harness's own tests, which
// set it while handed.mu is held.)
var kernelPort = func() (port int, release func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	return l.Addr().(*net.TCPAddr).Port, func() { l.Close() }, nil
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
		ok, err := ports.Listening(r.Pid(), port)
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
