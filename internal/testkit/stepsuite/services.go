package stepsuite

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// The in-process suites of a distributed step's three programs (6 on):
// TestGateway, TestContributors and TestCleaner run the step's handlers,
// passed in as hooks, in the test's own process. What the step's lesson
// adds to them (their spans on a mocktracer) the step tests itself, with
// the rigs these suites use (Gateway.Start, Contributors.Start, Job).

// Gateway is what TestGateway needs of a distributed step's gateway.
type Gateway struct {
	// Handler is the gateway's routes: they call the contributors
	// service at contributorsURL with client, queue jobs on queue and
	// wait up to replyTimeout for the cleaner's answer.
	Handler func(contributorsURL string, client *http.Client, queue *jobqueue.Queue, replyTimeout time.Duration) http.Handler
}

// GatewayOptions change what Gateway.Start runs.
type GatewayOptions struct {
	ContributorsURL string        // "" for the stub contributors service
	HTTPTimeout     time.Duration // the gateway's HTTP client's; 0 for 12 s, as the program's
	ReplyTimeout    time.Duration // 0 for 5 s
	NoCleaner       bool          // no cleaner's stand-in: no job is answered
	RedisDown       bool          // Redis stopped before the gateway starts
}

// GatewayRig is a gateway serving in the test's process, with a stub
// contributors service, a real Redis and the cleaner's stand-in.
type GatewayRig struct {
	URL          string // the gateway's
	Contributors *StubContributors
	Cleaner      *StandIn // nil with NoCleaner
	Redis        *e2e.RedisServer

	mu       sync.Mutex
	statuses []int // of the requests the gateway finished, in order
}

// Statuses returns the statuses the gateway wrote, a request's once its
// handler returned, even if its client had gone: what its log line says.
func (rig *GatewayRig) Statuses() []int {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return slices.Clone(rig.statuses)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Start starts the stub contributors service, a Redis, the cleaner's
// stand-in and the gateway, all stopped when the test ends.
func (g Gateway) Start(t *testing.T, opts GatewayOptions) *GatewayRig {
	t.Helper()
	rig := &GatewayRig{Contributors: startStubContributors(t), Redis: e2e.Redis(t)}
	if opts.RedisDown {
		if err := rig.Redis.Stop(); err != nil {
			t.Fatal(err)
		}
	} else if !opts.NoCleaner {
		rig.Cleaner = startStandIn(t, rig.Redis.Addr())
	}
	contributorsURL, httpTimeout, replyTimeout := opts.ContributorsURL, opts.HTTPTimeout, opts.ReplyTimeout
	if contributorsURL == "" {
		contributorsURL = rig.Contributors.URL
	}
	if httpTimeout == 0 {
		httpTimeout = 12 * time.Second
	}
	if replyTimeout == 0 {
		replyTimeout = 5 * time.Second
	}
	queue := jobqueue.New(rig.Redis.Addr(), "contributors")
	handler := g.Handler(contributorsURL, &http.Client{Timeout: httpTimeout}, queue, replyTimeout)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		handler.ServeHTTP(recorder, r)
		rig.mu.Lock()
		rig.statuses = append(rig.statuses, recorder.status)
		rig.mu.Unlock()
	}))
	t.Cleanup(func() {
		server.Close()
		queue.Close()
	})
	rig.URL = server.URL
	return rig
}

// StubContributors stands in for the contributors service: one owner per
// failure it can answer, GitHub's statistics for any other. It keeps the
// headers of every request.
type StubContributors struct {
	URL string

	mu      sync.Mutex
	headers []http.Header // of every request, oldest first
}

func startStubContributors(t *testing.T) *StubContributors {
	t.Helper()
	stub := &StubContributors{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stats/{owner}/{repo}", func(w http.ResponseWriter, r *http.Request) {
		stub.mu.Lock()
		stub.headers = append(stub.headers, r.Header.Clone())
		stub.mu.Unlock()
		owner, repo := r.PathValue("owner"), r.PathValue("repo")
		fail := func(status int, message string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": message})
		}
		switch owner {
		case "invalid":
			fail(http.StatusBadRequest, `invalid owner "invalid"`)
		case "missing":
			fail(http.StatusNotFound, "repository not found on GitHub")
		case "too-many":
			w.Header().Set("Retry-After", "42")
			fail(http.StatusTooManyRequests, "GitHub's secondary rate limit was hit; try again later")
		case "broken":
			fail(http.StatusBadGateway, "GitHub request failed: 500 Server Error")
		case "slow":
			fail(http.StatusGatewayTimeout, "GitHub did not answer in time")
		case "hanging": // the contributors service itself does not answer
			<-r.Context().Done()
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(fakegithub.Stats(owner, repo))
		}
	})
	server := httptest.NewServer(mux)
	t.Cleanup(func() {
		server.CloseClientConnections()
		server.Close()
	})
	stub.URL = server.URL
	return stub
}

// Headers returns the headers of every request the stub got, oldest
// first.
func (s *StubContributors) Headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.headers...)
}

// StandIn is the cleaner's stand-in: it answers with one row naming the
// repository and counting the statistics' entries, so a test can tell
// that the contributors' answer went through the queue and back. A
// repository named "unclean" gets an error. It keeps the headers of every
// job.
type StandIn struct {
	mu      sync.Mutex
	headers []map[string]string
}

func (c *StandIn) clean(ctx context.Context, msg jobqueue.Message) ([]byte, error) {
	c.mu.Lock()
	c.headers = append(c.headers, msg.Headers)
	c.mu.Unlock()
	var job struct {
		Repo  string          `json:"repo"`
		Stats json.RawMessage `json:"stats"`
	}
	var stats []json.RawMessage
	if err := json.Unmarshal(msg.Body, &job); err != nil || strings.HasSuffix(job.Repo, "/unclean") {
		return nil, errors.New("unreadable statistics for " + job.Repo)
	}
	if err := json.Unmarshal(job.Stats, &stats); err != nil {
		return nil, err
	}
	return json.Marshal([]contracttest.Contributor{{Login: "cleaned " + job.Repo, Commits: len(stats)}})
}

// Headers returns the headers of every job the stand-in got, oldest
// first.
func (c *StandIn) Headers() []map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]string(nil), c.headers...)
}

// startStandIn runs the cleaner's stand-in on a jobqueue.Worker until the
// test ends.
func startStandIn(t *testing.T, redisAddr string) *StandIn {
	t.Helper()
	cleaner := &StandIn{}
	queue := jobqueue.New(redisAddr, "contributors")
	e2e.Background(t, "the cleaner's stand-in", func(ctx context.Context, logger *slog.Logger) {
		worker := &jobqueue.Worker{Queue: queue, Logger: logger, Name: "stand-in"}
		worker.Run(ctx, cleaner.clean)
	}, func() { queue.Close() })
	return cleaner
}

// TestGateway tests, in the test's own process, what every distributed
// step's gateway keeps: the cleaner's answer becomes the response, the
// contributors service's failures reach the client, a silent cleaner
// gives a 504 with the job left queued, and no Redis a 503. Its subtests
// run in parallel, with the global tracer as it is (no-op).
func TestGateway(t *testing.T, g Gateway) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, g Gateway)
	}{
		{"answers and statuses", testAnswersAndStatuses},
		{"contributors unreachable", func(t *testing.T, g Gateway) {
			testContributorsFailing(t, g, GatewayOptions{ContributorsURL: "http://127.0.0.1:" + strconv.Itoa(e2e.FreePort(t))},
				"/git/golang/go", http.StatusBadGateway, "unreachable")
		}},
		{"contributors too slow", func(t *testing.T, g Gateway) {
			testContributorsFailing(t, g, GatewayOptions{HTTPTimeout: 200 * time.Millisecond},
				"/git/hanging/repo", http.StatusGatewayTimeout, "did not answer in time")
		}},
		{"bad names", testBadNames},
		{"no reply in time", testNoReplyInTime},
		{"client gives up", testClientGivesUp},
		{"Redis down", testRedisDown},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, g)
		})
	}
}

// testAnswersAndStatuses: the cleaner's answer becomes the response, and
// the contributors service's failures reach the client with their status,
// message and Retry-After.
func testAnswersAndStatuses(t *testing.T, g Gateway) {
	base := g.Start(t, GatewayOptions{}).URL

	status, header, body := contracttest.Get(t, base+"/git/golang/go")
	want := []contracttest.Contributor{{Login: "cleaned golang/go", Commits: len(fakegithub.Stats("golang", "go"))}}
	if status != http.StatusOK || body.Repo != "golang/go" || !slices.Equal(body.Contributors, want) {
		t.Errorf("GET /git/golang/go = %d %+v, want 200 with %v", status, body, want)
	}
	if !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q, want JSON", header.Get("Content-Type"))
	}

	for _, tc := range []struct {
		path       string
		status     int
		message    string
		retryAfter string
	}{
		{"/git/invalid/repo", 400, `invalid owner "invalid"`, ""},
		{"/git/missing/repo", 404, "repository not found on GitHub", ""},
		{"/git/too-many/repo", 429, "GitHub's secondary rate limit was hit; try again later", "42"},
		{"/git/broken/repo", 502, "GitHub request failed: 500 Server Error", ""},
		{"/git/slow/repo", 504, "GitHub did not answer in time", ""},
		{"/git/golang/unclean", 502, "unreadable statistics for golang/unclean", ""},
		{"/nothing/here", 404, "no such route", ""},
		{"/git/x/../golang/go", 404, "no such route", ""}, // not a redirect to /git/golang/go
	} {
		status, header, body := contracttest.Get(t, base+tc.path)
		if status != tc.status || body.Error != tc.message || header.Get("Retry-After") != tc.retryAfter {
			t.Errorf("GET %s = %d %q Retry-After %q, want %d %q Retry-After %q",
				tc.path, status, body.Error, header.Get("Retry-After"), tc.status, tc.message, tc.retryAfter)
		}
	}
	contracttest.MethodNotAllowed(t, base)
}

// testBadNames: the gateway refuses a name GitHub cannot have itself, with
// the monoliths' 400, and calls nobody: escaped into the contributors
// service's URL, a long name could outgrow its header limit (a 431).
func testBadNames(t *testing.T, g Gateway) {
	rig := g.Start(t, GatewayOptions{})
	for _, tc := range []struct{ path, message string }{
		{"/git/bad_owner/repo", "invalid owner"},
		{"/git/" + strings.Repeat(",", 5000) + "/repo", "invalid owner"},
		{"/git/owner/r%C3%A9po", "invalid repository name"},
		{"/git/owner/" + strings.Repeat(";", 5000), "invalid repository name"},
	} {
		status, _, body := contracttest.Get(t, rig.URL+tc.path)
		if status != http.StatusBadRequest || !strings.Contains(body.Error, tc.message) || len(body.Error) > 1200 {
			t.Errorf("GET %.60s… = %d %.200q, want 400 naming %q in a bounded message", tc.path, status, body.Error, tc.message)
		}
	}
	if n := len(rig.Contributors.Headers()); n > 0 {
		t.Errorf("the contributors service got %d requests for names the gateway should refuse", n)
	}
}

// testClientGivesUp: a client that gives up, while the gateway waits for
// the contributors service or for the cleaner, is no failure of ours: the
// gateway's status (for its log line and trace) is nginx's 499, not a 502
// "unreachable" or a 503 "Redis unavailable".
func testClientGivesUp(t *testing.T, g Gateway) {
	for _, tc := range []struct {
		waitingFor, path string
		opts             GatewayOptions
	}{
		{"the contributors service", "/git/hanging/repo", GatewayOptions{}},
		{"the cleaner", "/git/golang/go", GatewayOptions{NoCleaner: true}},
	} {
		rig := g.Start(t, tc.opts)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rig.URL+tc.path, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("waiting for %s: answered %s before the client gave up", tc.waitingFor, resp.Status)
		}
		cancel()
		// The gateway notices at once, or within the queue's second.
		var got []int
		for deadline := time.Now().Add(10 * time.Second); len(got) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			got = rig.Statuses()
		}
		if !slices.Equal(got, []int{499}) {
			t.Errorf("waiting for %s: the gateway answered %v, want [499]: the client closed the request", tc.waitingFor, got)
		}
	}
}

// testContributorsFailing: nobody listens at CONTRIBUTORS_URL (502), or
// the contributors service takes longer than the gateway's HTTP client
// waits (504).
func testContributorsFailing(t *testing.T, g Gateway, opts GatewayOptions, path string, status int, message string) {
	base := g.Start(t, opts).URL
	got, _, body := contracttest.Get(t, base+path)
	if got != status || !strings.Contains(body.Error, message) {
		t.Errorf("GET %s = %d %q, want %d naming %q", path, got, body.Error, status, message)
	}
}

// testNoReplyInTime: no cleaner runs; the request ends after
// REPLY_TIMEOUT with a 504, and the job waits on the stream for a
// cleaner.
func testNoReplyInTime(t *testing.T, g Gateway) {
	rig := g.Start(t, GatewayOptions{ReplyTimeout: time.Second, NoCleaner: true})

	start := time.Now()
	status, _, body := contracttest.Get(t, rig.URL+"/git/golang/go")
	took := time.Since(start)
	if status != http.StatusGatewayTimeout || !strings.Contains(body.Error, "cleaner did not answer") {
		t.Errorf("status %d %q, want 504 naming the cleaner", status, body.Error)
	}
	if took < time.Second {
		t.Errorf("answered after %s, want no sooner than REPLY_TIMEOUT (1 s)", took)
	}
	rdb := redis.NewClient(&redis.Options{Addr: rig.Redis.Addr()})
	defer rdb.Close()
	if n := rdb.XLen(context.Background(), jobsStream).Val(); n != 1 {
		t.Errorf("%d jobs queued, want 1", n)
	}
}

// testRedisDown: without Redis the gateway answers 503, naming Redis.
func testRedisDown(t *testing.T, g Gateway) {
	base := g.Start(t, GatewayOptions{RedisDown: true}).URL
	status, header, body := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusServiceUnavailable || !strings.Contains(body.Error, "Redis") {
		t.Errorf("status %d %q, want 503 naming Redis", status, body.Error)
	}
	if !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q, want JSON", header.Get("Content-Type"))
	}
}

// Contributors is what TestContributors needs of a distributed step's
// contributors service. (Its package shortens the waits between GitHub's
// 202s itself: the stand-in answers 202 at once.)
type Contributors struct {
	// Handler is the service's routes, calling the GitHub at githubURL
	// (with its trailing slash) with token, giving up on it after a
	// second.
	Handler func(githubURL, token string) http.Handler
}

// Start serves the contributors service against a stand-in GitHub that
// answers 202 once, then the statistics; it returns the stand-in, which
// records its requests, and the service's base URL.
func (c Contributors) Start(t *testing.T, token string) (*fakegithub.Server, string) {
	t.Helper()
	github := fakegithub.New(fakegithub.Options{ComputeCalls: 1, Record: true})
	githubServer := httptest.NewServer(github)
	t.Cleanup(githubServer.Close)
	server := httptest.NewServer(c.Handler(githubServer.URL+"/", token))
	t.Cleanup(server.Close)
	return github, server.URL
}

// TestContributors tests, in the test's own process, what every
// distributed step's contributors service keeps: GitHub's statistics
// passed on raw, GitHub's failures as statuses.
func TestContributors(t *testing.T, c Contributors) {
	t.Run("raw statistics", func(t *testing.T) { testRawStats(t, c) })
	t.Run("GitHub's failures become statuses", func(t *testing.T) { testGitHubFailures(t, c) })
	t.Run("methods other than GET", func(t *testing.T) {
		_, base := c.Start(t, "")
		contracttest.MethodNotAllowed(t, base)
	})
}

// testRawStats: the contributors service passes GitHub's statistics on as
// they are (after waiting out the 202), deleted accounts included.
func testRawStats(t *testing.T, c Contributors) {
	github, base := c.Start(t, "secret")
	resp, err := http.Get(base + "/stats/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats []struct {
		Author *struct{ Login string } `json:"author"`
		Total  int                     `json:"total"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, decode: %v", resp.StatusCode, err)
	}
	want := fakegithub.Stats("golang", "go")
	if len(stats) != len(want) {
		t.Fatalf("%d contributors, want %d", len(stats), len(want))
	}
	for i := range want {
		if (stats[i].Author == nil) != (want[i].Author == nil) || stats[i].Total != want[i].Total {
			t.Errorf("contributor %d = %+v, want author %v total %d", i, stats[i], want[i].Author, want[i].Total)
		}
	}
	// Two requests: the 202 (statistics being computed), then the 200.
	requests := github.Requests()
	if len(requests) != 2 {
		t.Fatalf("GitHub got %d requests, want 2 (the 202, then the 200)", len(requests))
	}
	for i, h := range requests {
		if h.Get("Authorization") != "Bearer secret" {
			t.Errorf("request %d: Authorization = %q, want the token", i+1, h.Get("Authorization"))
		}
	}
}

func testGitHubFailures(t *testing.T, c Contributors) {
	_, base := c.Start(t, "")
	for path, want := range map[string]int{
		"/stats/bad_owner/x": 400, "/stats/missing/x": 404, "/stats/too-many/x": 429,
		"/stats/computing/x": 502, "/stats/broken/x": 502, "/stats/slow/x": 504, "/nothing": 404,
		"/stats/x/../golang/go": 404, // not a redirect to /stats/golang/go
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != want || body.Error == "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s = %d %q, want %d with a JSON error", path, resp.StatusCode, body.Error, want)
		}
	}
}

// Cleaner is what TestCleaner needs of a distributed step's cleaner. (Its
// package switches its misbehaviour off itself.)
type Cleaner struct {
	CleanJob func(ctx context.Context, msg jobqueue.Message) ([]byte, error)
}

// TestCleaner tests what every distributed step's cleaner keeps: a job's
// commits counted per contributor, unreadable statistics an error.
func TestCleaner(t *testing.T, c Cleaner) {
	t.Run("counts commits", func(t *testing.T) {
		answer, err := c.CleanJob(context.Background(), Job(t, "torvalds/linux", fakegithub.Stats("torvalds", "linux"), nil))
		WantCleaned(t, answer, err, "torvalds", "linux")
	})
	t.Run("crafted counts", func(t *testing.T) {
		answer, err := c.CleanJob(context.Background(), Job(t, "overflow/repo", fakegithub.Overflow(), nil))
		var got []contracttest.Contributor
		if err == nil {
			err = json.Unmarshal(answer, &got)
		}
		if err != nil {
			t.Fatalf("answer = %s, %v", answer, err)
		}
		contracttest.WantNoOverflow(t, http.StatusOK, got)
	})
	t.Run("unreadable statistics", func(t *testing.T) {
		answer, err := c.CleanJob(context.Background(), Job(t, "a/b", map[string]string{"not": "a list"}, nil))
		if err == nil || answer != nil {
			t.Errorf("answer = %s, %v; want an error", answer, err)
		}
	})
}

// Job is a job as the gateway queues it, with headers.
func Job(t *testing.T, repo string, stats any, headers map[string]string) jobqueue.Message {
	t.Helper()
	body, err := json.Marshal(map[string]any{"repo": repo, "stats": stats})
	if err != nil {
		t.Fatal(err)
	}
	return jobqueue.Message{Headers: headers, Body: body}
}

// WantCleaned checks that the cleaner's answer (and err) is the
// contributors of owner/repo.
func WantCleaned(t *testing.T, answer []byte, err error, owner, repo string) {
	t.Helper()
	var got []contracttest.Contributor
	if err == nil {
		err = json.Unmarshal(answer, &got)
	}
	if want := contracttest.Expected(owner, repo); err != nil || !slices.Equal(got, want) {
		t.Errorf("answer = %s (%v), want %v", answer, err, want)
	}
}
