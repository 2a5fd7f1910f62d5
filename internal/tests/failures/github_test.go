package failures

import (
	"net/http"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

// githubRow is one GitHub failure, caused by asking the stand-in for one
// of its misbehaving owners.
type githubRow struct {
	path   string // "/git/broken/repo"
	status int
	says   string        // in the client's JSON error
	cause  string        // in the log of the span of the GitHub call
	within time.Duration // the answer's bound
	// after is the status of a good request afterwards: 200, except after
	// an exhausted rate limit, which go-github remembers until it resets.
	after int
}

// testGitHub causes the row's failure in step 7 and in step 5. The client
// gets the row's status and error; the span of the GitHub call has
// error=true and a log naming the cause; no job was queued for a fetch
// that failed; every program is still running and serves the next request.
func testGitHub(t *testing.T, row githubRow) {
	forSteps(t, []int{5, 7}, func(t *testing.T, n int) {
		s := start(t, n, stepsuite.Options{})
		a := call(t, s.URL+row.path, nil)
		wantError(t, a, row.status, row.says, row.within)
		service := "contributors" // step 5's single program calls itself the gateway
		if n == 5 {
			service = "gateway"
		}
		marked(t, s.Jaeger, a.header.Get("X-Trace-Id"), service, "fetchContributorStats", row.cause)
		wantSpan(t, s.Jaeger, a.header.Get("X-Trace-Id"), "gateway", "GET /git/{owner}/{repo}", func(s jaeger.Span) bool {
			errTag, _ := s.Tag("error")
			return (errTag == true) == (row.status >= 500)
		}, "error=true exactly for a 5xx")
		alive(t, s)
		if got := call(t, s.URL+"/git/golang/go", nil); got.status != row.after {
			t.Errorf("the next request: %d %q, want %d", got.status, got.error, row.after)
		}
		if n == 7 {
			noDeadLetters(t, redisOf(t, s))
		}
	})
}

func TestGitHubComputingForever(t *testing.T) {
	testGitHub(t, githubRow{"/git/computing/repo", http.StatusBadGateway, "still computing",
		"still computing", 8 * time.Second, http.StatusOK})
}

func TestGitHubRateLimitExhausted(t *testing.T) {
	testGitHub(t, githubRow{"/git/rate-limited/repo", http.StatusTooManyRequests, "rate limit is exhausted",
		"rate limit exceeded", 2 * time.Second, http.StatusTooManyRequests})
}

func TestGitHubTooManyRequests(t *testing.T) {
	testGitHub(t, githubRow{"/git/too-many/repo", http.StatusTooManyRequests, "rate limit was hit",
		"secondary rate limit", 2 * time.Second, http.StatusOK})
}

func TestGitHubNotFound(t *testing.T) {
	testGitHub(t, githubRow{"/git/missing/repo", http.StatusNotFound, "not found",
		"404", 2 * time.Second, http.StatusOK})
}

func TestGitHubServerError(t *testing.T) {
	testGitHub(t, githubRow{"/git/broken/repo", http.StatusBadGateway, "GitHub answered 500",
		"500", 2 * time.Second, http.StatusOK})
}

// The programs give GitHub 10 s, then answer 504.
func TestGitHubHangs(t *testing.T) {
	testGitHub(t, githubRow{"/git/slow/repo", http.StatusGatewayTimeout, "did not answer in time",
		"deadline exceeded", 12 * time.Second, http.StatusOK})
}

func TestGitHubGarbledBody(t *testing.T) {
	testGitHub(t, githubRow{"/git/garbled/repo", http.StatusBadGateway, "GitHub",
		"invalid character", 2 * time.Second, http.StatusOK})
}

// TestGitHubCraftedStatistics: statistics no GitHub sends, crafted to
// overflow the int64 commit counts (the stand-in's overflow/ owner):
// counts near the largest int64, and negative ones. The client gets its
// 200 with no count wrapped round to a negative number: a negative week
// counts nothing, and a sum stops at the largest int.
func TestGitHubCraftedStatistics(t *testing.T) {
	forSteps(t, []int{5, 7}, func(t *testing.T, n int) {
		s := start(t, n, stepsuite.Options{})
		a := call(t, s.URL+"/git/overflow/repo", nil)
		if a.status != http.StatusOK {
			t.Fatalf("GET /git/overflow/repo = %d %q, want 200", a.status, a.error)
		}
		_, _, body := contracttest.Get(t, s.URL+"/git/overflow/repo")
		contracttest.WantNoOverflow(t, http.StatusOK, body.Contributors)
		alive(t, s)
		if n == 7 {
			noDeadLetters(t, redisOf(t, s))
		}
	})
}
