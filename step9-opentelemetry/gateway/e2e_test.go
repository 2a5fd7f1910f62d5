package main

// End-to-end tests: the step's three programs as real processes, with a
// real Redis, a real Jaeger and the stand-in GitHub.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	jaegerapi "github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/tracetest"
)

func TestMain(m *testing.M) {
	// The end-to-end tests mostly wait: for REPLY_TIMEOUT, restarts, the
	// contributors service's 10 s GitHub timeout. Unless -parallel says
	// otherwise, run them all at once rather than GOMAXPROCS at a time.
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "16")
	}
	os.Exit(e2e.Main(m))
}

// stack is one running copy of the step.
type stack struct {
	Base                           string // the gateway's URL
	CleanerURL                     string // for its /healthz
	Gateway, Contributors, Cleaner *e2e.Process
	Redis                          *e2e.RedisServer
	RDB                            *redis.Client // to look into the queue
}

type options struct {
	replyTimeout string // the gateway's REPLY_TIMEOUT; "" for its default
	badThings    bool   // leave the cleaner's misbehaviour on
}

const cleanerName = "cleaner-1" // CLEANER_NAME, the same across restarts

// startStack starts Redis and the three programs against the GitHub at
// githubURL, and returns once all three answer their health checks.
func startStack(t *testing.T, githubURL string, opts options) *stack {
	t.Helper()
	gateway, contributors, cleaner := e2e.Build(t, "."), e2e.Build(t, "../contributors"), e2e.Build(t, "../cleaner")
	jaegerInstance := e2e.Jaeger(t)
	s := &stack{Redis: e2e.Redis(t)}
	s.RDB = redis.NewClient(&redis.Options{Addr: s.Redis.Addr()})
	t.Cleanup(func() { s.RDB.Close() })

	env := func(more ...string) map[string]string {
		m := map[string]string{
			"HOST":                        "127.0.0.1",
			"OTEL_EXPORTER_OTLP_ENDPOINT": jaegerInstance.OTLPEndpoint,
			"OTEL_BSP_SCHEDULE_DELAY":     "100", // milliseconds
		}
		for i := 0; i < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}

	var contributorsURL string
	s.Contributors, contributorsURL = startProgram(t, "contributors", contributors,
		env("GITHUB_API_URL", githubURL, "GITHUB_TOKEN", contracttest.Token))

	badThings := "off"
	if opts.badThings {
		badThings = "on"
	}
	s.Cleaner, s.CleanerURL = startProgram(t, "cleaner", cleaner,
		env("REDIS_ADDR", s.Redis.Addr(), "CLEANER_NAME", cleanerName, "BAD_THINGS", badThings))
	// On SIGTERM the cleaner finishes its blocking read of the queue (up to
	// 2 s) before it exits. Tests end by killing it instead, to stay fast;
	// TestE2ETraceAndShutdown checks that SIGTERM stops it cleanly.
	t.Cleanup(func() { s.Cleaner.Kill() })

	gatewayEnv := env("CONTRIBUTORS_URL", contributorsURL, "REDIS_ADDR", s.Redis.Addr())
	if opts.replyTimeout != "" {
		gatewayEnv["REPLY_TIMEOUT"] = opts.replyTimeout
	}
	s.Gateway, s.Base = startProgram(t, "gateway", gateway, gatewayEnv)
	return s
}

// startProgram starts binary with env on a free port (PORT), waits until
// it is healthy, and returns it with its URL.
func startProgram(t *testing.T, name, binary string, env map[string]string) (*e2e.Process, string) {
	t.Helper()
	p, port := e2e.StartOnFreePort(t, name, binary, env, "PORT")
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	p.WaitHealthy(t, url+"/healthz")
	return p, url
}

// answer is what a GET returned; get may run outside the test's goroutine.
type answer struct {
	status int
	header http.Header
	body   contracttest.Response
	took   time.Duration
	err    error
}

var client = &http.Client{Timeout: 30 * time.Second}

func get(url string) answer { return getAs(url, "") }

// getAs sends a GET that says who asks (X-Requested-By), unless who is "".
func getAs(url, who string) answer {
	start := time.Now()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return answer{err: err}
	}
	if who != "" {
		req.Header.Set("X-Requested-By", who)
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
		a.err = fmt.Errorf("status %d, body is not JSON: %w", resp.StatusCode, err)
	}
	a.took = time.Since(start)
	return a
}

// wantContributors checks that a is the right 200 answer for owner/repo.
func wantContributors(t *testing.T, a answer, owner, repo string) {
	t.Helper()
	if a.err != nil {
		t.Errorf("GET /git/%s/%s: %v", owner, repo, a.err)
		return
	}
	want := contracttest.Expected(owner, repo)
	if a.status != http.StatusOK || a.body.Repo != owner+"/"+repo || !slices.Equal(a.body.Contributors, want) {
		t.Errorf("GET /git/%s/%s = %d %q %q with %d contributors, want 200 with the %d expected",
			owner, repo, a.status, a.body.Repo, a.body.Error, len(a.body.Contributors), len(want))
	}
}

// wantRefusal checks that a is a quick error answer: status, with an
// error that names what is missing, in less than within.
func wantRefusal(t *testing.T, a answer, status int, names string, within time.Duration) {
	t.Helper()
	if a.err != nil || a.status != status || !strings.Contains(a.body.Error, names) {
		t.Errorf("GET = %d %q (%v), want %d naming %s", a.status, a.body.Error, a.err, status, names)
	}
	if a.took >= within {
		t.Errorf("answered after %s, want under %s", a.took, within)
	}
}

// jobsStream is where the gateway's jobs wait: jobqueue.New(…, "contributors").Stream.
const jobsStream = "contributors:jobs"

// pending returns the jobs that the cleaners took and have not answered
// yet, or nil while no cleaner has made its group.
func (s *stack) pending(t *testing.T) []redis.XPendingExt {
	t.Helper()
	ctx := context.Background()
	groups, err := s.RDB.XInfoGroups(ctx, jobsStream).Result()
	if err != nil || len(groups) == 0 {
		return nil
	}
	pending, err := s.RDB.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: jobsStream, Group: groups[0].Name, Start: "-", End: "+", Count: 100,
	}).Result()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	return pending
}

// queued returns how many jobs are on the stream, waiting or in hand.
func (s *stack) queued(t *testing.T) int64 {
	t.Helper()
	n, err := s.RDB.XLen(context.Background(), jobsStream).Result()
	if err != nil {
		t.Fatalf("XLEN: %v", err)
	}
	return n
}

// eventually polls cond every 20 ms for up to timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
	}
}

// TestE2EContract: the tutorial's HTTP contract, kept by the three
// programs together.
func TestE2EContract(t *testing.T) {
	t.Parallel()
	contracttest.Run(t, func(t *testing.T, githubURL string) string {
		return startStack(t, githubURL, options{}).Base
	})
}

// The trace that one request leaves in Jaeger: step 7's lesson. One trace
// crosses the three services, over HTTP headers and inside the job.
var (
	wantTree = `gateway: GET /git/{owner}/{repo}
  gateway: fetchStats
    contributors: GET /stats/{owner}/{repo}
      contributors: fetchContributorStats
  gateway: queue.Push
    cleaner: cleanJob
      cleaner: countCommits
  gateway: queue.WaitForReply
`
	wantKinds = map[string]string{
		"gateway: GET /git/{owner}/{repo}":        "server",
		"gateway: fetchStats":                     "client",
		"contributors: GET /stats/{owner}/{repo}": "server",
		"contributors: fetchContributorStats":     "client",
		"gateway: queue.Push":                     "producer",
		"cleaner: cleanJob":                       "consumer",
		"cleaner: countCommits":                   "internal", // OpenTelemetry's default kind
		"gateway: queue.WaitForReply":             "internal",
	}
	wantServices = map[string]bool{"gateway": true, "contributors": true, "cleaner": true}
)

// TestE2ETraceAndShutdown: after one request, SIGTERM stops each program
// with exit status 0 (flushing its last spans), and the request's trace
// in Jaeger is wantTree. Step 8: who asked travels as baggage to the
// cleaner, which tags its span and logs it; GitHub sees none of it. Step 9:
// all of it through OpenTelemetry's SDK, over OTLP.
func TestE2ETraceAndShutdown(t *testing.T) {
	t.Parallel()
	github, githubURL := e2e.GitHub(t, fakegithub.Options{})
	s := startStack(t, githubURL, options{})

	a := getAs(s.Base+"/git/golang/go", "alice")
	wantContributors(t, a, "golang", "go")
	traceID := a.header.Get("X-Trace-Id")
	if len(traceID) != 32 {
		t.Fatalf("X-Trace-Id = %q, want a 128-bit trace ID", traceID)
	}
	for _, p := range []*e2e.Process{s.Gateway, s.Contributors, s.Cleaner} {
		start := time.Now()
		if err := p.Stop(); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
		t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := e2e.Jaeger(t).Client().WaitForTrace(ctx, traceID, tracetest.HasSpans(len(wantKinds)))
	if err != nil {
		t.Fatalf("%v; so far:\n%s", err, tracetest.JaegerTree(trace))
	}
	if got := tracetest.JaegerTree(trace); got != wantTree {
		t.Errorf("trace:\n%s\nwant:\n%s", got, wantTree)
	}

	present := map[string]bool{}
	for _, span := range trace.Spans {
		present[span.SpanID] = true
	}
	var roots []string
	for _, span := range trace.Spans {
		name := trace.ServiceName(span) + ": " + span.OperationName
		if span.TraceID != traceID {
			t.Errorf("%s: trace ID %s, want %s", name, span.TraceID, traceID)
		}
		switch parent := span.ParentID(); {
		case parent == "":
			roots = append(roots, name)
		case !present[parent]:
			t.Errorf("%s: parent %s is not in the trace", name, parent)
		}
		// Step 9's cleaner starts its span as a child of the gateway's
		// queue.Push: a FollowsFrom would start a new trace (see the README).
		if name == "cleaner: cleanJob" && (len(span.References) != 1 || span.References[0].RefType != "CHILD_OF") {
			t.Errorf("%s: references %+v, want one CHILD_OF", name, span.References)
		}
		// The spans come from OpenTelemetry's SDK, over OTLP: the process
		// says so, and the bridge's instrumentation scope names step 9.
		process := trace.Processes[span.ProcessID]
		for key, want := range map[string]any{"telemetry.sdk.language": "go", "telemetry.sdk.name": "opentelemetry"} {
			if got, _ := (jaegerapi.Span{Tags: process.Tags}).Tag(key); got != want {
				t.Errorf("%s: process tag %s = %v, want %v (process tags %+v)", name, key, got, want, process.Tags)
			}
		}
		if got, _ := span.Tag("otel.scope.name"); got != "github.com/tracing-tutorial/tutorial/step9-opentelemetry" {
			t.Errorf("%s: otel.scope.name = %v, want step 9's tracer (tags %+v)", name, got, span.Tags)
		}
		want, known := wantKinds[name]
		if !known {
			t.Errorf("unexpected span %s", name)
		}
		if kind, _ := span.Tag("span.kind"); kind != nil && kind != want || kind == nil && want != "" {
			t.Errorf("%s: span.kind = %v, want %q", name, kind, want)
		}
	}
	if len(roots) != 1 || roots[0] != "gateway: GET /git/{owner}/{repo}" {
		t.Errorf("roots %v, want the gateway's request span alone", roots)
	}

	// The baggage: set by the gateway, read by the cleaner two hops away.
	for _, span := range trace.Spans {
		switch name := trace.ServiceName(span) + ": " + span.OperationName; name {
		case "cleaner: cleanJob":
			if got, _ := span.Tag("requested_by"); got != "alice" {
				t.Errorf("%s: tag requested_by = %v, want alice (the gateway's baggage)", name, got)
			}
		case "gateway: GET /git/{owner}/{repo}":
			// Unlike jaeger-client-go, the bridge logs nothing when an
			// item is set: only the cleaner's tag stores it in Jaeger.
			if hasLog(span, map[string]any{"key": "requested-by"}) {
				t.Errorf("%s: a log of the baggage item; logs %+v", name, span.Logs)
			}
			// ext.HTTPStatusCode's uint16 arrives as a number.
			if got, _ := span.Tag("http.status_code"); got != float64(200) {
				t.Errorf("%s: http.status_code = %v (%T), want the number 200", name, got, got)
			}
		}
	}
	if out := s.Cleaner.Output(); !strings.Contains(out, "requested_by=alice") {
		t.Errorf("the cleaner's log does not say it cleaned for alice:\n%s", out)
	}
	// GitHub, a third party, got neither the trace context nor the baggage.
	requests := github.Requests()
	if len(requests) == 0 {
		t.Error("GitHub got no request")
	}
	for _, h := range requests {
		for name := range h {
			if lower := strings.ToLower(name); strings.HasPrefix(lower, "uber") || strings.Contains(lower, "baggage") || lower == "traceparent" {
				t.Errorf("GitHub got the header %s: %q", name, h.Get(name))
			}
		}
	}

	// Which services ever reported to this test binary's Jaeger.
	resp, err := client.Get(e2e.Jaeger(t).QueryURL + "/api/services")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var services struct{ Data []string }
	if err := json.NewDecoder(resp.Body).Decode(&services); err != nil {
		t.Fatalf("/api/services: %v", err)
	}
	for service, want := range wantServices {
		if slices.Contains(services.Data, service) != want {
			t.Errorf("Jaeger knows the services %v; want %s among them: %v", services.Data, service, want)
		}
	}
}

// TestE2ECleanerStopped: with no cleaner, the request ends in a 504 after
// REPLY_TIMEOUT, and the job stays queued. A cleaner started later drops
// it, with a log line, rather than clean it for a client that has gone.
func TestE2ECleanerStopped(t *testing.T) {
	t.Parallel()
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	const replyTimeout = 2 * time.Second
	s := startStack(t, githubURL, options{replyTimeout: replyTimeout.String()})
	if err := s.Cleaner.Stop(); err != nil {
		t.Fatal(err)
	}

	// After REPLY_TIMEOUT, and less than a second more: the gateway waited
	// for the answer, not gave up at once.
	a := get(s.Base + "/git/golang/go")
	wantRefusal(t, a, http.StatusGatewayTimeout, "cleaner", replyTimeout+time.Second)
	if a.took < replyTimeout-200*time.Millisecond {
		t.Errorf("504 after %s, want at least REPLY_TIMEOUT (%s) less 200ms", a.took, replyTimeout)
	}
	if n := s.queued(t); n != 1 {
		t.Fatalf("%d jobs on the stream, want 1", n)
	}

	s.Cleaner.Restart(t)
	eventually(t, 10*time.Second, "the restarted cleaner dropped the late job", func() bool {
		return strings.Contains(s.Cleaner.Output(), "dropped a job whose client stopped waiting")
	})
	eventually(t, 5*time.Second, "the late job left the stream", func() bool { return s.queued(t) == 0 })
	if strings.Contains(s.Cleaner.Output(), "took over") {
		t.Errorf("the cleaner took a job over; it should only have dropped the late one:\n%s", s.Cleaner.Output())
	}
}

// TestE2EShutdownDrainsTheLongestRequest: SIGTERM while a request waits
// for a cleaner that does not answer. The gateway lets the request finish
// (its 504, after REPLY_TIMEOUT), then exits with status 0: its drain is
// longer than its longest request.
func TestE2EShutdownDrainsTheLongestRequest(t *testing.T) {
	t.Parallel()
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	const replyTimeout = 6 * time.Second
	s := startStack(t, githubURL, options{replyTimeout: replyTimeout.String()})
	if err := s.Cleaner.Stop(); err != nil {
		t.Fatal(err)
	}

	done := make(chan answer, 1)
	go func() { done <- get(s.Base + "/git/golang/go") }()
	eventually(t, 5*time.Second, "the job queued", func() bool { return s.queued(t) == 1 })
	if err := s.Gateway.Stop(); err != nil {
		t.Errorf("SIGTERM with a request in flight: %v", err)
	}
	wantRefusal(t, <-done, http.StatusGatewayTimeout, "cleaner", replyTimeout+time.Second)
}

// TestE2ECleanerKilledMidJob: a cleaner killed while it cleans (BAD_THINGS
// makes a big repository take 2 s) and restarted under the same name
// (CLEANER_NAME) takes the job over once it has sat idle for ClaimIdle
// (5 s), well within the gateway's wait (15 s), and the waiting client
// gets its answer.
func TestE2ECleanerKilledMidJob(t *testing.T) {
	t.Parallel()
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	s := startStack(t, githubURL, options{badThings: true})

	done := make(chan answer, 1)
	go func() { done <- get(s.Base + "/git/torvalds/linux") }()
	eventually(t, 10*time.Second, "the cleaner took the job", func() bool { return len(s.pending(t)) == 1 })
	s.Cleaner.Kill()
	if pending := s.pending(t); len(pending) != 1 || pending[0].Consumer != cleanerName {
		t.Fatalf("after the kill, pending = %+v, want the job pending at %s", pending, cleanerName)
	}

	s.Cleaner.Restart(t)
	select {
	case a := <-done:
		wantContributors(t, a, "torvalds", "linux")
	case <-time.After(20 * time.Second):
		t.Fatal("no answer 20 s after the restart")
	}
	eventually(t, 5*time.Second, "the job done with", func() bool { return len(s.pending(t)) == 0 && s.queued(t) == 0 })
	restarted := s.Cleaner.Output()[strings.LastIndex(s.Cleaner.Output(), "restarted"):]
	if !strings.Contains(restarted, "took over an abandoned job") || !strings.Contains(restarted, "from="+cleanerName) {
		t.Errorf("the restarted cleaner did not log that it took its own job over:\n%s", restarted)
	}
}

// TestE2EConcurrentRequests: requests for the same repositories at the
// same time each get their own, right, answer.
func TestE2EConcurrentRequests(t *testing.T) {
	t.Parallel()
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	s := startStack(t, githubURL, options{})

	repos := [][2]string{{"golang", "go"}, {"torvalds", "linux"}, {"rust-lang", "rust"}, {"nodejs", "node"}}
	const requests = 30
	answers := make([]answer, requests)
	var wg sync.WaitGroup
	for i := range requests {
		repo := repos[i%len(repos)]
		wg.Go(func() { answers[i] = get(s.Base + "/git/" + repo[0] + "/" + repo[1]) })
	}
	wg.Wait()
	for i, a := range answers {
		repo := repos[i%len(repos)]
		wantContributors(t, a, repo[0], repo[1])
	}
}

// TestE2ERedisRestart: while Redis is down the gateway says so at once
// (503), and the cleaner's /healthz says it cannot take jobs (503); once
// Redis is back, empty, requests succeed again without any program being
// restarted.
func TestE2ERedisRestart(t *testing.T) {
	t.Parallel()
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	s := startStack(t, githubURL, options{replyTimeout: "5s"})
	wantContributors(t, get(s.Base+"/git/golang/go"), "golang", "go")

	if err := s.Redis.Stop(); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, get(s.Base+"/git/golang/go"), http.StatusServiceUnavailable, "Redis", 2*time.Second)
	var health answer
	eventually(t, 15*time.Second, "the cleaner's /healthz still 200 without Redis", func() bool {
		health = get(s.CleanerURL + "/healthz")
		return health.status == http.StatusServiceUnavailable
	})
	if health.err != nil || !strings.Contains(health.body.Error, "Redis") {
		t.Errorf("the cleaner's /healthz = %d %q (%v), want a JSON error naming Redis", health.status, health.body.Error, health.err)
	}

	s.Redis.Restart(t)
	var statuses []int
	var a answer
	eventually(t, 15*time.Second, "a 200 after Redis came back", func() bool {
		a = get(s.Base + "/git/golang/go")
		statuses = append(statuses, a.status)
		return a.status == http.StatusOK
	})
	wantContributors(t, a, "golang", "go")
	t.Logf("statuses after the restart: %v", statuses)
	eventually(t, 10*time.Second, "the cleaner's /healthz 200 again", func() bool {
		return get(s.CleanerURL+"/healthz").status == http.StatusOK
	})
}

// TestE2EReplyTimeoutUnderASecond: the gateway refuses to start with a
// REPLY_TIMEOUT it cannot keep (the queue waits in whole seconds), and
// says which variable is wrong.
func TestE2EReplyTimeoutUnderASecond(t *testing.T) {
	t.Parallel()
	for _, value := range []string{"0", "500ms", "soon"} {
		p := e2e.Start(t, "gateway", e2e.Build(t, "."), map[string]string{
			"HOST": "127.0.0.1", "PORT": strconv.Itoa(e2e.FreePort(t)), "REPLY_TIMEOUT": value,
		})
		var exit *exec.ExitError
		if err := p.Wait(10 * time.Second); !errors.As(err, &exit) || !strings.Contains(p.Output(), "REPLY_TIMEOUT") {
			t.Errorf("REPLY_TIMEOUT=%s: %v, want an exit with an error naming REPLY_TIMEOUT:\n%s", value, err, p.Output())
		}
	}
}

// hasLog reports whether span has a log with all of fields.
func hasLog(span jaegerapi.Span, fields map[string]any) bool {
	for _, l := range span.Logs {
		got := map[string]any{}
		for _, f := range l.Fields {
			got[f.Key] = f.Value
		}
		match := true
		for k, v := range fields {
			match = match && got[k] == v
		}
		if match {
			return true
		}
	}
	return false
}
