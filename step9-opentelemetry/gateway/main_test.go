package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/tracetest"
)

func TestMain(m *testing.M) {
	// The end-to-end tests (e2e_test.go) mostly wait: for REPLY_TIMEOUT,
	// restarts, the contributors service's 10 s GitHub timeout. Unless
	// -parallel says otherwise, run them all at once rather than GOMAXPROCS
	// at a time.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "16")
	}
	os.Exit(e2e.Main(m))
}

// stubContributors stands in for the contributors service: one owner per
// failure it can answer, GitHub's statistics for any other.
type stubContributors struct {
	URL string

	mu      sync.Mutex
	headers []http.Header // of every request, oldest first
}

func startStubContributors(t *testing.T) *stubContributors {
	t.Helper()
	stub := &stubContributors{}
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

func (s *stubContributors) Headers() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.headers...)
}

// standIn is the cleaner's stand-in: it answers with one row naming the
// repository and counting the statistics' entries, so a test can tell that
// the contributors' answer went through the queue and back. A repository
// named "unclean" gets an error. It keeps the headers of every job.
type standIn struct {
	mu      sync.Mutex
	headers []map[string]string
}

func (c *standIn) clean(ctx context.Context, msg jobqueue.Message) ([]byte, error) {
	c.mu.Lock()
	c.headers = append(c.headers, msg.Headers)
	c.mu.Unlock()
	var job job
	var stats []json.RawMessage
	if err := json.Unmarshal(msg.Body, &job); err != nil || strings.HasSuffix(job.Repo, "/unclean") {
		return nil, errors.New("unreadable statistics for " + job.Repo)
	}
	if err := json.Unmarshal(job.Stats, &stats); err != nil {
		return nil, err
	}
	return json.Marshal([]contracttest.Contributor{{Login: "cleaned " + job.Repo, Commits: len(stats)}})
}

// Headers returns the headers of every job the stand-in got, oldest first.
func (c *standIn) Headers() []map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]map[string]string(nil), c.headers...)
}

// startCleaner runs the cleaner's stand-in on a jobqueue.Worker until the
// test ends.
func startCleaner(t *testing.T, redisAddr string) *standIn {
	t.Helper()
	cleaner := &standIn{}
	queue := jobqueue.New(redisAddr, "contributors")
	e2e.Background(t, "the cleaner's stand-in", func(ctx context.Context, logger *slog.Logger) {
		worker := &jobqueue.Worker{Queue: queue, Logger: logger, Name: "stand-in"}
		worker.Run(ctx, cleaner.clean)
	}, func() { queue.Close() })
	return cleaner
}

// startGateway serves the gateway's routes against contributorsURL and the
// Redis at redisAddr, with the queue the program uses.
func startGateway(t *testing.T, contributorsURL, redisAddr string, replyTimeout time.Duration) (*app, string) {
	t.Helper()
	a := &app{
		contributorsURL: contributorsURL,
		http:            &http.Client{Timeout: 12 * time.Second},
		queue:           jobqueue.New(redisAddr, "contributors"),
		replyTimeout:    replyTimeout,
	}
	server := httptest.NewServer(a.routes())
	t.Cleanup(func() {
		server.Close()
		a.queue.Close()
	})
	return a, server.URL
}

// setUp starts the stub contributors service, a Redis, the cleaner's
// stand-in and the gateway.
func setUp(t *testing.T) (stub *stubContributors, cleaner *standIn, base string) {
	t.Helper()
	stub = startStubContributors(t)
	server := e2e.Redis(t)
	cleaner = startCleaner(t, server.Addr())
	_, base = startGateway(t, stub.URL, server.Addr(), 5*time.Second)
	return stub, cleaner, base
}

// TestAnswersAndStatuses: the cleaner's answer becomes the response, and
// the contributors service's failures reach the client with their status,
// message and Retry-After.
func TestAnswersAndStatuses(t *testing.T) {
	t.Parallel()
	_, _, base := setUp(t)

	status, header, body := contracttest.Get(t, base+"/git/golang/go")
	want := []contracttest.Contributor{{Login: "cleaned golang/go", Commits: len(fakegithub.Stats("golang", "go"))}}
	if status != http.StatusOK || body.Repo != "golang/go" || len(body.Contributors) != 1 || body.Contributors[0] != want[0] {
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
}

// TestContributorsFailing: nobody listens at CONTRIBUTORS_URL (502), or
// the contributors service takes longer than the gateway's HTTP client
// waits (504).
func TestContributorsFailing(t *testing.T) {
	t.Parallel()
	stub := startStubContributors(t)
	server := e2e.Redis(t)
	for _, tc := range []struct {
		name, contributorsURL, path string
		timeout                     time.Duration // the gateway's HTTP client's
		status                      int
		message                     string // part of the JSON error
	}{
		{"unreachable", "http://127.0.0.1:" + strconv.Itoa(e2e.FreePort(t)), "/git/golang/go", 12 * time.Second, http.StatusBadGateway, "unreachable"},
		{"too slow", stub.URL, "/git/hanging/repo", 200 * time.Millisecond, http.StatusGatewayTimeout, "did not answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, base := startGateway(t, tc.contributorsURL, server.Addr(), 5*time.Second)
			a.http.Timeout = tc.timeout
			status, _, body := contracttest.Get(t, base+tc.path)
			if status != tc.status || !strings.Contains(body.Error, tc.message) {
				t.Errorf("GET %s = %d %q, want %d naming %q", tc.path, status, body.Error, tc.status, tc.message)
			}
		})
	}
}

// TestNoReplyInTime: no cleaner runs; the request ends after REPLY_TIMEOUT
// with a 504, and the job waits on the stream for a cleaner.
func TestNoReplyInTime(t *testing.T) {
	t.Parallel()
	stub := startStubContributors(t)
	server := e2e.Redis(t)
	_, base := startGateway(t, stub.URL, server.Addr(), time.Second)

	start := time.Now()
	status, _, body := contracttest.Get(t, base+"/git/golang/go")
	took := time.Since(start)
	if status != http.StatusGatewayTimeout || !strings.Contains(body.Error, "cleaner did not answer") {
		t.Errorf("status %d %q, want 504 naming the cleaner", status, body.Error)
	}
	if took < time.Second {
		t.Errorf("answered after %s, want no sooner than REPLY_TIMEOUT (1 s)", took)
	}
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr()})
	defer rdb.Close()
	if n := rdb.XLen(context.Background(), "contributors:jobs").Val(); n != 1 {
		t.Errorf("%d jobs queued, want 1", n)
	}
}

// TestRedisDown: without Redis the gateway answers 503, naming Redis.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	stub := startStubContributors(t)
	server := e2e.Redis(t)
	if err := server.Stop(); err != nil {
		t.Fatal(err)
	}
	_, base := startGateway(t, stub.URL, server.Addr(), 5*time.Second)

	status, header, body := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusServiceUnavailable || !strings.Contains(body.Error, "Redis") {
		t.Errorf("status %d %q, want 503 naming Redis", status, body.Error)
	}
	if !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		t.Errorf("content type %q, want JSON", header.Get("Content-Type"))
	}
}

// The tests below install a global tracer: they must not run in parallel
// (the parallel tests above start only once these are done).

// TestSpanTree: step 7's lesson in the gateway. The request's span has a
// child for each call to another service: the contributors service (a
// client span), the queue (a producer span), and the wait for the reply.
func TestSpanTree(t *testing.T) {
	tracer := tracetest.Install(t)
	_, _, base := setUp(t)

	contracttest.Get(t, base+"/git/golang/go")
	want := "GET /git/{owner}/{repo}\n  fetchStats\n  queue.Push\n  queue.WaitForReply\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	wantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{
		"span.kind": ext.SpanKindRPCServerEnum, "repo": "golang/go", "http.status_code": uint16(200),
	})
	wantTags(t, tracetest.Find(t, tracer, "fetchStats"), map[string]any{
		"span.kind": ext.SpanKindRPCClientEnum, "peer.service": "contributors",
		"http.method": "GET", "http.status_code": uint16(200),
	})
	wantTags(t, tracetest.Find(t, tracer, "queue.Push"), map[string]any{
		"span.kind": ext.SpanKindProducerEnum, "message_bus.destination": "contributors:jobs",
	})
	wait := tracetest.Find(t, tracer, "queue.WaitForReply")
	if job, _ := wait.Tag("job").(string); job == "" {
		t.Errorf("queue.WaitForReply: job = %q, want the job's ID", job)
	}
	for _, span := range tracer.FinishedSpans() {
		if span.Tag("error") != nil {
			t.Errorf("span %q of a successful request is tagged error", span.OperationName)
		}
	}

	// A failed fetch queues nothing: the tree stops at fetchStats, which
	// says why.
	tracer.Reset()
	contracttest.Get(t, base+"/git/broken/repo")
	want = "GET /git/{owner}/{repo}\n  fetchStats\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans of a failed request:\n%s\nwant:\n%s", got, want)
	}
	wantTags(t, tracetest.Find(t, tracer, "fetchStats"), map[string]any{"error": true, "http.status_code": uint16(502)})
	wantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{"error": true, "http.status_code": uint16(502)})
}

// TestSpanOfTheWaitShowsTheTimeout: the span of the wait is where a 504
// for a silent cleaner shows.
func TestSpanOfTheWaitShowsTheTimeout(t *testing.T) {
	tracer := tracetest.Install(t)
	stub := startStubContributors(t)
	server := e2e.Redis(t)
	_, base := startGateway(t, stub.URL, server.Addr(), time.Second)

	status, _, body := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusGatewayTimeout || !strings.Contains(body.Error, "cleaner did not answer") {
		t.Errorf("status %d %q, want 504 naming the cleaner", status, body.Error)
	}
	wait := tracetest.Find(t, tracer, "queue.WaitForReply")
	wantTags(t, wait, map[string]any{"error": true})
	if logs := wait.Logs(); len(logs) != 1 || !strings.Contains(fmt.Sprint(logs[0].Fields), "no answer") {
		t.Errorf("queue.WaitForReply logs = %+v, want the timeout", logs)
	}
	wantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{"error": true, "http.status_code": uint16(504)})
	if span := tracetest.Find(t, tracer, "queue.Push"); span.Tag("error") != nil {
		t.Error("queue.Push is tagged error, but the push succeeded")
	}
}

// TestTraceContextTravels: with OpenTelemetry's SDK behind the bridge,
// the contributors service gets a W3C traceparent naming fetchStats as the
// parent, and the job's headers carry queue.Push's.
func TestTraceContextTravels(t *testing.T) {
	_, exporter := oteltest.Install(t)
	stub, cleaner, base := setUp(t)

	status, header, _ := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	root := oteltest.Find(t, exporter, "GET /git/{owner}/{repo}")
	fetch, push := oteltest.Find(t, exporter, "fetchStats"), oteltest.Find(t, exporter, "queue.Push")
	if len(exporter.GetSpans()) != 4 || !oteltest.ChildOf(root, fetch) || !oteltest.ChildOf(root, push) {
		t.Fatalf("spans %v, want the request's, fetchStats and queue.Push under it, and queue.Push", exporter.GetSpans())
	}
	if got := header.Get("X-Trace-Id"); got != root.SpanContext.TraceID().String() {
		t.Errorf("X-Trace-Id = %q, want %s", got, root.SpanContext.TraceID())
	}
	// traceparent: version-trace ID-parent span ID-flags (01: sampled).
	traceparent := func(span oteltest.Span) string {
		return "00-" + span.SpanContext.TraceID().String() + "-" + span.SpanContext.SpanID().String() + "-01"
	}
	headers := stub.Headers()
	if len(headers) != 1 {
		t.Fatalf("the contributors service got %d requests, want 1", len(headers))
	}
	if got, want := headers[0].Get("Traceparent"), traceparent(fetch); got != want {
		t.Errorf("the contributors service got traceparent %q, want fetchStats' %q", got, want)
	}
	jobs := cleaner.Headers()
	if len(jobs) != 1 {
		t.Fatalf("the cleaner got %d jobs, want 1", len(jobs))
	}
	if got, want := jobs[0]["traceparent"], traceparent(push); got != want {
		t.Errorf("the job's traceparent %q, want queue.Push's %q", got, want)
	}
	for _, h := range []map[string][]string{headers[0], {"from the job": {fmt.Sprint(jobs[0])}}} {
		for name, values := range h {
			if strings.Contains(strings.ToLower(name+fmt.Sprint(values)), "uber") {
				t.Errorf("a Jaeger header went out: %s: %v", name, values)
			}
		}
	}
}

func wantTags(t *testing.T, span *mocktracer.MockSpan, want map[string]any) {
	t.Helper()
	for key, value := range want {
		if got := span.Tag(key); got != value {
			t.Errorf("span %q: tag %s = %v (%T), want %v (%T)", span.OperationName, key, got, got, value, value)
		}
	}
}
