// Package e2e is the harness of the steps' end-to-end tests: thin
// testing.TB wrappers over internal/infra/stack, which starts the processes,
// finds their ports and waits until they are ready, and returns errors;
// here they fail the test, with a message that says what to do, and are
// cleaned up when it ends. It also holds the test binary's shared Jaeger.
//
// A test package that uses it must run its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }
package e2e

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

// state is what the test binary shares between its tests and Main cleans up.
var state struct {
	mu  sync.Mutex
	dir string // built binaries; "" until Main runs
}

// Main runs the tests, then stops whatever the package started and is still
// running: the shared Jaeger, and any process a test's cleanup did not get
// to. It also does so when the test binary is interrupted (Ctrl-C), so that
// no Jaeger or program is left holding ports.
func Main(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tutorial-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	state.mu.Lock()
	state.dir = dir
	state.mu.Unlock()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-signals
		fmt.Fprintf(os.Stderr, "e2e: %v: stopping what the tests started\n", sig)
		cleanUp(false)
		os.Exit(1)
	}()

	code := m.Run()
	signal.Stop(signals)
	cleanUp(code != 0)
	return code
}

func cleanUp(failed bool) {
	state.mu.Lock()
	dir := state.dir
	state.mu.Unlock()

	stack.KillAll()
	stopJaeger(failed)
	os.RemoveAll(dir)
}

// BinDir returns the directory for the test binary's builds, which Main
// removes, or fails t if Main is not in charge (then nothing would clean
// up after the test).
func BinDir(t testing.TB) string { t.Helper(); return binDir(t) }

func binDir(t testing.TB) string {
	t.Helper()
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.dir == "" {
		t.Fatal("e2e: add `func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }` to the test package")
	}
	return state.dir
}
