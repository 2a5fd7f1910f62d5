package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/proc"
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

// ports are the ports FreePort handed out.
var ports struct {
	mu    sync.Mutex
	given map[int]bool
}

func freePort() (int, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
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
		if !ports.given[port] {
			if ports.given == nil {
				ports.given = map[int]bool{}
			}
			ports.given[port] = true
			return port, nil
		}
	}
	return 0, errors.New("the kernel offered 100 ports in a row that were handed out before")
}

// kernelPort asks the kernel for a port free on 127.0.0.1, and holds it
// until release is called. (A variable for the harness's own tests, which
// set it while ports.mu is held.)
var kernelPort = func() (port int, release func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, nil, err
	}
	return l.Addr().(*net.TCPAddr).Port, func() { l.Close() }, nil
}

const (
	healthyTimeout = 20 * time.Second
	healthyPoll    = 25 * time.Millisecond
)

// WaitHealthy polls url until it answers 200 OK, for up to 20 seconds.
func WaitHealthy(t testing.TB, url string) {
	t.Helper()
	if err := waitHealthy(url, nil); err != nil {
		t.Fatalf("e2e: %v", err)
	}
}

// WaitHealthy polls url until it answers 200 OK, for up to 20 seconds, and
// fails at once, showing the output, if the process exits meanwhile.
func (p *Process) WaitHealthy(t testing.TB, url string) {
	t.Helper()
	if err := waitHealthy(url, p.Exited()); err != nil {
		t.Fatalf("e2e: %s: %v\n%s", p.name, err, proc.LastLines(p.Output(), 30))
	}
}

func waitHealthy(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.After(healthyTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before %s answered 200", url)
		case <-deadline:
			return fmt.Errorf("%s not healthy after %s: %w", url, healthyTimeout, err)
		case <-time.After(healthyPoll):
		}
	}
}
