//go:build unix

package e2e

import "testing"

// Pause stops the process with SIGSTOP, as a hung program is: it keeps its
// port and its connections, and answers nothing. Resume (or the test's
// end) lets it go on.
func (p *Process) Pause(t testing.TB) {
	t.Helper()
	p.Process.Pause()
	t.Cleanup(p.Process.Resume)
}

// Resume lets a paused process go on (SIGCONT).
func (p *Process) Resume(t testing.TB) {
	t.Helper()
	p.Process.Resume()
}
