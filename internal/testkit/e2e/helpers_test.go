package e2e

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
)

// TestMain doubles as the program of the StartOnFreePort tests.
func TestMain(m *testing.M) {
	if os.Getenv("E2E_TEST_LISTEN") == "1" {
		listenUntilTerm()
	}
	os.Exit(Main(m))
}

// listenUntilTerm is a server as the steps' programs are: it listens on
// 127.0.0.1:$PORT, or exits 1 with net's error ("bind: address already in
// use"), and exits 0 on SIGTERM.
func listenUntilTerm() {
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", l.Addr())
	<-terms
	l.Close()
	os.Exit(0)
}

// listener is the test binary run as listenUntilTerm: its path and the
// environment that selects it.
func listener(t *testing.T) (string, map[string]string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe, map[string]string{"E2E_TEST_LISTEN": "1"}
}

// takePort listens on a free port until the test ends, as another test
// binary's program would, and returns the port.
func takePort(t *testing.T) int {
	t.Helper()
	return listenFresh(t).Addr().(*net.TCPAddr).Port
}

// listenFresh listens on a free port that FreePort has not handed out
// (FreePort would not offer it), until the test ends.
func listenFresh(t *testing.T) net.Listener {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if !ports.HandedOut(l.Addr().(*net.TCPAddr).Port) {
			t.Cleanup(func() { l.Close() })
			return l
		}
		l.Close()
	}
}

// offerPorts is ports.Offer until the test ends.
func offerPorts(t *testing.T, offers ...int) func() int {
	t.Helper()
	asked, restore := ports.Offer(offers...)
	t.Cleanup(restore)
	return asked
}

// recorder is t, except that it records the harness's failures rather
// than failing t: Fatal ends only the goroutine that calls it, and
// cleanups wait for runCleanups.
type recorder struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	cleanups []func()
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) {
	r.Errorf("%s", fmt.Sprint(args...))
	runtime.Goexit()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.failures) > 0
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

// runCleanups runs the recorded cleanups, last first, as a test's end
// does.
func (r *recorder) runCleanups() {
	r.mu.Lock()
	cleanups := r.cleanups
	r.cleanups = nil
	r.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
}

// failures runs f with a recorder in a goroutine of its own (Fatal ends
// it), then the recorder's cleanups, and returns what failed.
func failures(t *testing.T, f func(t testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	r.runCleanups()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failures
}
