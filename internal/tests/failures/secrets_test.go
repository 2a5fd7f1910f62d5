package failures

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
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
		s := start(t, n, stepsuite.Options{GitHubURL: githubURL, Env: map[string]string{"GITHUB_TOKEN": token}})

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
		secretsNowhere(t, s, since, map[string]string{"the token": token})
		alive(t, s)
	})
}

// secretsNowhere fails t for each secret in a trace of s's Jaeger since
// the start, or in a program's output.
func secretsNowhere(t *testing.T, s *stepsuite.Stack, since time.Time, secrets map[string]string) {
	t.Helper()
	time.Sleep(time.Second) // the last spans, flushed every 100 ms
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
			for name, secret := range secrets {
				if strings.Contains(string(text), secret) {
					t.Errorf("%s is in trace %s:\n%s", name, trace.TraceID, describe(trace))
				}
			}
		}
	}
	if seen == 0 {
		t.Error("Jaeger has no span of the test's requests")
	}
	for program, p := range s.Programs {
		for name, secret := range secrets {
			if strings.Contains(p.Output(), secret) {
				t.Errorf("%s is in %s's output:\n%s", name, program, p.Output())
			}
		}
	}
}

// TestSecretsFromUpstreamAndConfig: secrets that come from elsewhere than
// GITHUB_TOKEN's own use. GitHub (a server of the test's own) answers an
// error whose message echoes the request's Authorization header, and
// GITHUB_API_URL carries a user:password@. Neither the token nor the
// password reaches a span (error.object, http.url) or a program's output:
// the token is blanked out of GitHub's error answers, and the URL's
// user:password@ is dropped, with a warning that names no password.
func TestSecretsFromUpstreamAndConfig(t *testing.T) {
	forSteps(t, []int{5, 7, 10}, func(t *testing.T, n int) {
		token, password := "ghp_tutorialtest"+rand.Text(), "urlpassword"+rand.Text()
		github := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"message": "Server Error; you sent Authorization: " + r.Header.Get("Authorization")})
		}))
		defer github.Close()
		apiURL := strings.Replace(github.URL, "http://", "http://learner:"+password+"@", 1) + "/"
		since := time.Now()
		s := start(t, n, stepsuite.Options{GitHubURL: github.URL + "/", Env: map[string]string{
			"GITHUB_API_URL": apiURL, "GITHUB_TOKEN": token,
		}})

		a := call(t, s.URL+"/git/golang/go", nil)
		wantError(t, a, http.StatusBadGateway, "GitHub answered 500", 5*time.Second)
		service := "contributors" // step 5's single program calls itself the gateway
		if n == 5 {
			service = "gateway"
		}
		wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), service, "fetchContributorStats", nil, "")
		secretsNowhere(t, s, since, map[string]string{"the token": token, "GITHUB_API_URL's password": password})
		// The error is there, the token blanked out of it.
		marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), service, "fetchContributorStats", "you sent Authorization: Bearer [GITHUB_TOKEN]")
		alive(t, s)
	})
}

// TestTokenNotRedirected: GitHub (here an HTTPS server of the test's own)
// answers with a redirect to another host, over plain HTTP. go-github adds
// the token to every request, redirects included; the programs follow no
// redirect away from the API's host, so the other host never sees the
// token, and the client gets a 502 rather than the other host's answer as
// if GitHub had given it.
func TestTokenNotRedirected(t *testing.T) {
	forSteps(t, []int{5, 7, 10}, func(t *testing.T, n int) {
		token := "ghp_tutorialtest" + rand.Text()
		var mu sync.Mutex
		var stolen []string // what the other host got
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			stolen = append(stolen, r.Header.Get("Authorization"))
			mu.Unlock()
			fakegithub.New(fakegithub.Options{}).ServeHTTP(w, r) // a good answer, of the wrong host
		}))
		defer other.Close()
		github := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
		}))
		defer github.Close()
		// The programs trust the test's certificate as they trust GitHub's.
		certFile := filepath.Join(t.TempDir(), "github.pem")
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: github.Certificate().Raw})
		if err := os.WriteFile(certFile, cert, 0o600); err != nil {
			t.Fatal(err)
		}
		s := start(t, n, stepsuite.Options{GitHubURL: github.URL + "/", Env: map[string]string{
			"GITHUB_API_URL": github.URL + "/", "GITHUB_TOKEN": token, "SSL_CERT_FILE": certFile,
		}})

		a := call(t, s.URL+"/git/golang/go", nil)
		mu.Lock()
		for _, got := range stolen {
			if strings.Contains(got, token) {
				t.Errorf("the other host got Authorization %q", got)
			}
		}
		mu.Unlock()
		wantError(t, a, http.StatusBadGateway, "GitHub request failed", 5*time.Second)
		service := "contributors" // step 5's single program calls itself the gateway
		if n == 5 {
			service = "gateway"
		}
		marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), service, "fetchContributorStats", "another host")
		alive(t, s)
	})
}
