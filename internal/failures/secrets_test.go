package failures

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

// TestTokenNeverLeaks runs the step with a GITHUB_TOKEN of its own and
// sends requests that succeed and requests that fail in every way the
// stand-in GitHub can fail: the token reaches GitHub, as a bearer token,
// and appears nowhere else: not in any program's output, not in any span,
// tag, log or process tag in Jaeger.
func TestTokenNeverLeaks(t *testing.T) {
	forSteps(t, []int{5, 7}, func(t *testing.T, n int) {
		secret := make([]byte, 12)
		rand.Read(secret)
		token := "ghp_tutorialtest" + hex.EncodeToString(secret)
		github, githubURL := e2e.GitHub(t, fakegithub.Options{ComputeCalls: 1})
		since := time.Now()
		s := start(t, n, lesson.Options{GitHubURL: githubURL, Env: map[string]string{"GITHUB_TOKEN": token}})

		var traceIDs []string
		for _, path := range []string{
			"/git/golang/go", "/git/missing/repo", "/git/broken/repo", "/git/too-many/repo",
			"/git/garbled/repo", "/git/bad_owner/repo", "/nothing/here", "/git/rate-limited/repo",
		} {
			a := call(t, s.URL+path, http.Header{"Uber-Trace-Id": {"garbage"}})
			if id := a.header.Get("X-Trace-Id"); id != "" {
				traceIDs = append(traceIDs, id)
			}
		}
		requests := github.Requests()
		if len(requests) == 0 {
			t.Fatal("GitHub got no request")
		}
		for _, h := range requests {
			if got := h.Get("Authorization"); got != "Bearer "+token {
				t.Errorf("GitHub got Authorization %q, want the bearer token", got)
			}
		}

		// The requests' traces, whole, and every trace since the start.
		for _, id := range traceIDs {
			wantSpan(t, s.Jaeger, id, "gateway", "GET /git/{owner}/{repo}", nil, "")
		}
		time.Sleep(time.Second) // the other spans, flushed every 100 ms
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		seen := 0
		for _, service := range []string{"gateway", "contributors", "cleaner"} {
			traces, err := s.Jaeger.Client().Find(ctx, service, "", since)
			if err != nil {
				t.Fatal(err)
			}
			for _, trace := range traces {
				seen += len(trace.Spans)
				text, _ := json.Marshal(trace)
				if strings.Contains(string(text), token) {
					t.Errorf("the token is in trace %s:\n%s", trace.TraceID, describe(trace))
				}
			}
		}
		if seen == 0 {
			t.Error("Jaeger has no span of the test's requests")
		}
		for name, p := range s.Programs {
			if strings.Contains(p.Output(), token) {
				t.Errorf("the token is in %s's output:\n%s", name, p.Output())
			}
		}
		alive(t, s)
	})
}
