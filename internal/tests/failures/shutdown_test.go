package failures

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

// TestShutdownUnderLoad: SIGTERM while requests are in flight (GitHub
// takes a second to answer each): every one of them completes with its
// 200, the program exits with status 0, and it flushed its spans on the
// way out: each request's span is in Jaeger. In step 7 the contributors
// service and the cleaner then stop cleanly too, and a cleaner stopped in
// the middle of a job finishes it first.
func TestShutdownUnderLoad(t *testing.T) {
	t.Run("step7 cleaner", func(t *testing.T) {
		t.Parallel()
		s := start(t, 7, stepsuite.Options{
			Env:        map[string]string{"JAEGER_REPORTER_FLUSH_INTERVAL": "1m"},
			ProgramEnv: map[string]map[string]string{"cleaner": {"BAD_THINGS": "on"}}, // 2 s a job
		})
		rdb := redisOf(t, s)
		done := jobInHand(t, s, rdb)
		if err := s.Programs["cleaner"].Stop(); err != nil {
			t.Errorf("SIGTERM with a job in hand: %v", err)
		}
		a := <-done
		if a.status != http.StatusOK {
			t.Fatalf("the job in hand: %d %q, want 200", a.status, a.error)
		}
		wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "cleaner", "countCommits", nil, "")
		noDeadLetters(t, rdb)
	})
	forSteps(t, []int{5, 7}, func(t *testing.T, n int) {
		github, githubURL := e2e.GitHub(t, fakegithub.Options{Latency: time.Second})
		// Spans are sent once a minute: only the flush on the way out
		// sends the requests' spans before the test looks for them.
		s := start(t, n, stepsuite.Options{GitHubURL: githubURL,
			Env: map[string]string{"JAEGER_REPORTER_FLUSH_INTERVAL": "1m"}})
		const inFlight = 8
		got := make([]answer, inFlight)
		var wg sync.WaitGroup
		for i := range inFlight {
			wg.Go(func() {
				a, err := tryCall(s.URL+fmt.Sprintf("/git/load/repo%d", i), nil)
				if err != nil {
					t.Error(err)
				}
				got[i] = a
			})
		}
		eventually(t, 10*time.Second, func() bool { return len(github.Requests()) >= inFlight },
			func() string { return "the requests did not reach GitHub" })
		if err := s.Public().Stop(); err != nil {
			t.Errorf("SIGTERM with %d requests in flight: %v", inFlight, err)
		}
		wg.Wait()
		for i, a := range got {
			if a.status != http.StatusOK {
				t.Errorf("request %d: %d %q, want 200", i, a.status, a.error)
				continue
			}
			wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "GET /git/{owner}/{repo}", nil, "")
		}
		if n == 7 {
			noDeadLetters(t, redisOf(t, s))
			for _, name := range []string{"contributors", "cleaner"} {
				if err := s.Programs[name].Stop(); err != nil {
					t.Errorf("SIGTERM: %v", err)
				}
			}
		}
	})
}

// TestShutdownJaegerHung: Jaeger hangs (it accepts connections and never
// answers, as when paused with SIGSTOP) while requests come, so that spans
// pile up; then the gateway gets SIGTERM. Its flush gives up after 2 s
// (reporting.FlushLimit) instead of sending every span, 5 s a batch: it
// exits 0 before the harness's deadline for a SIGTERM, and logs how many
// spans it gave up. Steps 9 and 10 (OpenTelemetry's SDK) too.
func TestShutdownJaegerHung(t *testing.T) {
	forSteps(t, []int{7, 9, 10}, func(t *testing.T, n int) {
		hung := "http://" + e2e.Hung(t)
		s := start(t, n, stepsuite.Options{Env: map[string]string{
			"JAEGER_ENDPOINT": hung + "/api/traces", "OTEL_EXPORTER_OTLP_ENDPOINT": hung,
		}})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 50 {
					if a, err := tryCall(s.URL+"/git/golang/go", nil); err != nil || a.status != http.StatusOK {
						t.Errorf("with Jaeger hung: %d %q %v, want 200", a.status, a.error, err)
						return
					}
				}
			})
		}
		wg.Wait()
		gateway := s.Public()
		if err := gateway.Stop(); err != nil {
			t.Fatalf("SIGTERM with Jaeger hung: %v", err)
		}
		if out := gateway.Output(); !strings.Contains(out, "gave up flushing the spans") || strings.Contains(out, "spans=0 ") {
			t.Errorf("the gateway did not log how many spans it gave up:\n%s", out)
		}
	})
}
