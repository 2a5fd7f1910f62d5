package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

// stopTimeout is how long a program may take to exit after SIGTERM. The
// steps shut down gracefully; one that takes longer is a bug. (A variable
// for the harness's own test.)
var stopTimeout = stack.StopTimeout

// Process is a program a test started: a stack.Process whose Restart,
// WaitHealthy, Pause and Resume fail the test instead of returning errors.
type Process struct{ *stack.Process }

// Start runs binary with args and with env added to the test's environment
// (PORT, GITHUB_API_URL, JAEGER_ENDPOINT...). Its stdout and stderr are
// kept, and logged if the test fails. When the test ends, the process is
// stopped as Stop does, and the test fails if it does not exit cleanly or
// had exited with an error that the test did not expect.
func Start(t testing.TB, name, binary string, env map[string]string, args ...string) *Process {
	t.Helper()
	binDir(t)
	p, err := stack.StartProcess(t.Context(), stack.Command{Name: name, Binary: binary, Args: args,
		Env: append(os.Environ(), stack.EnvList(env)...), StopTimeout: stopTimeout})
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return Managed(t, p)
}

// Managed makes p the test's: stopped when the test ends, which fails if
// it does not exit cleanly; its output logged if the test fails.
func Managed(t testing.TB, p *stack.Process) *Process {
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("e2e: %v", err)
		}
		if t.Failed() {
			t.Logf("e2e: output of %s:\n%s", p.Name(), p.Output())
		}
	})
	return &Process{p}
}

// Restart starts the program again with the same environment and
// arguments, stopping it first if it is running. Its output continues in
// Output after a marker line.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	if err := p.Process.Restart(t.Context()); err != nil {
		t.Fatalf("e2e: %v", err)
	}
}

// WaitHealthy polls url until it answers 200 OK, for up to 20 seconds, and
// fails at once, showing the output, if the process exits meanwhile.
func (p *Process) WaitHealthy(t testing.TB, url string) {
	t.Helper()
	if err := stack.WaitHealthy(t.Context(), url, p.Exited()); err != nil {
		t.Fatalf("e2e: %s: %v\n%s", p.Name(), err, p.LastLines(30))
	}
}

// WaitHealthy polls url until it answers 200 OK, for up to 20 seconds.
func WaitHealthy(t testing.TB, url string) {
	t.Helper()
	if err := stack.WaitHealthy(t.Context(), url, nil); err != nil {
		t.Fatalf("e2e: %v", err)
	}
}

// Wait is stack.Process's Wait, kept for the tests of programs that must
// refuse to start.
func (p *Process) Wait(timeout time.Duration) error { return p.Process.Wait(timeout) }
