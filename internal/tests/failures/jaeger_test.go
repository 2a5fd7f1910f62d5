package failures

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

// ownJaeger returns a function that starts a Jaeger of the test's own,
// always on the same ports, so that it can be stopped and started again
// where the programs send their spans. Each instance is stopped when the
// test ends.
func ownJaeger(t *testing.T) func() *jaeger.Instance {
	t.Helper()
	binary, err := jaeger.Binary(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := jaeger.Options{QueryPort: e2e.FreePort(t), CollectorPort: e2e.FreePort(t), AgentPort: e2e.FreePort(t)}
	return func() *jaeger.Instance {
		t.Helper()
		j, err := jaeger.Start(t.Context(), binary, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Stop() })
		return j
	}
}

// stopJaeger starts the step with its own Jaeger, stops that Jaeger and
// checks that requests are unaffected: 200 within 2 s each, no program
// exits, and the programs log that spans could not be sent. It returns
// the stack and a function that starts Jaeger again.
func stopJaeger(t *testing.T, n int) (*stepsuite.Stack, func() *jaeger.Instance) {
	t.Helper()
	startJaeger := ownJaeger(t)
	j := startJaeger()
	s := start(t, n, stepsuite.Options{Env: map[string]string{"JAEGER_ENDPOINT": j.CollectorEndpoint}})
	wantSpan(t, j, wantOK(t, s, "golang/go").header.Get("X-Trace-Id"), "gateway", "GET /git/{owner}/{repo}", nil, "")
	if err := j.Stop(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if a := wantOK(t, s, "golang/go"); a.took > 2*time.Second {
			t.Errorf("answered after %s with Jaeger down, want within 2 s", a.took)
		}
	}
	public := s.Public()
	eventually(t, 10*time.Second, func() bool { return strings.Contains(public.Output(), "jaeger: ") }, func() string {
		return "the gateway did not log that it cannot send spans:\n" + public.Output()
	})
	alive(t, s)
	if n == 7 {
		noDeadLetters(t, redisOf(t, s))
	}
	return s, startJaeger
}

// inTurn runs row for steps 5 and 7 one after the other: a Jaeger stopped
// leaves its ports free, where another Jaeger starting meanwhile could
// pick one.
func inTurn(t *testing.T, row func(t *testing.T, n int)) {
	t.Parallel()
	for _, n := range []int{5, 7} {
		t.Run(fmt.Sprintf("step%d", n), func(t *testing.T) { row(t, n) })
	}
}

// TestJaegerStopped: Jaeger's absence changes nothing for the client.
func TestJaegerStopped(t *testing.T) {
	inTurn(t, func(t *testing.T, n int) { stopJaeger(t, n) })
}

// TestJaegerRestarted: once Jaeger is back, without any program
// restarted, a request's trace reaches it whole.
func TestJaegerRestarted(t *testing.T) {
	inTurn(t, func(t *testing.T, n int) {
		s, startJaeger := stopJaeger(t, n)
		j := startJaeger()
		a := wantOK(t, s, "golang/go")
		last := map[int][2]string{5: {"gateway", "countCommits"}, 7: {"cleaner", "countCommits"}}[n]
		wantSpan(t, j, a.header.Get("X-Trace-Id"), last[0], last[1], nil, "")
		wantSpan(t, j, a.header.Get("X-Trace-Id"), "gateway", "GET /git/{owner}/{repo}", nil, "")
		if a.status != http.StatusOK {
			t.Errorf("after Jaeger's restart: %d %q", a.status, a.error)
		}
		alive(t, s)
	})
}

// TestJaegerDownUnderLoad: with Jaeger stopped and requests coming, every
// batch of spans fails to send (the programs send every 100 ms here): each
// program logs the first failure at once, and then one line every 10 s
// that counts the rest, not an ERROR line a batch.
func TestJaegerDownUnderLoad(t *testing.T) {
	t.Parallel()
	s, _ := stopJaeger(t, 7)
	for end := time.Now().Add(4 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		wantOK(t, s, "golang/go")
	}
	for name, p := range s.Programs {
		if n := strings.Count(p.Output(), "msg=\"jaeger: "); n > 2 {
			t.Errorf("%s logged %d lines about Jaeger in 5 s, want the first and a summary at most:\n%s", name, n, p.Output())
		}
	}
}
