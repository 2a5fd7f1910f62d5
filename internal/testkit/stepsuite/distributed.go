package stepsuite

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// Main runs a distributed step's tests through e2e.Main. Its end-to-end
// tests mostly wait (for REPLY_TIMEOUT, restarts, the contributors
// service's GitHub timeout): unless -parallel says otherwise, they run
// all at once rather than GOMAXPROCS at a time.
func Main(m *testing.M) int {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", "16")
	}
	return e2e.Main(m)
}

// Distributed is what TestDistributed needs of a step of three services
// (6 on) besides its lesson.
type Distributed struct {
	// Trace checks what the step's own trace shows besides its lesson
	// (step 7: the cleaner's span follows from queue.Push). It gets the
	// trace of the lesson's first request, read back from Jaeger once
	// every program has stopped. Optional.
	Trace func(t *testing.T, stack *Stack, trace jaeger.Trace)
}

// The names of a distributed step's programs (Stack.Programs).
const (
	gatewayName      = "gateway"
	contributorsName = "contributors"
	cleanerName      = "cleaner"
	// cleanerID is the cleaner's CLEANER_NAME, the same across restarts.
	cleanerID = "cleaner-1"
	// jobsStream is where the gateway's jobs wait:
	// jobqueue.New(…, "contributors").Stream.
	jobsStream = "contributors:jobs"
)

// TestDistributed runs, against step n's three programs built from dir
// (the step's folder), with a real Redis and Jaeger, what every
// distributed step promises: the HTTP contract; its lesson, on traces
// flushed by SIGTERM, with no span the lesson does not name; a late job
// dropped; SIGTERM with a request in flight; a cleaner killed mid-job;
// concurrent requests; Redis stopped and back; REPLY_TIMEOUT under a
// second refused.
func TestDistributed(t *testing.T, n int, dir string, d Distributed) {
	l, err := lesson.For(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		test func(t *testing.T)
	}{
		{"contract", func(t *testing.T) { testDistributedContract(t, n, dir) }},
		{"lesson on traces flushed by SIGTERM", func(t *testing.T) { testTraceAndShutdown(t, n, dir, l, d) }},
		{"late job dropped", func(t *testing.T) { testLateJobDropped(t, n, dir) }},
		{"SIGTERM drains the longest request", func(t *testing.T) { testDrain(t, n, dir) }},
		{"cleaner killed mid-job", func(t *testing.T) { testCleanerKilledMidJob(t, n, dir) }},
		{"concurrent requests", func(t *testing.T) { testConcurrentRequests(t, n, dir) }},
		{"Redis stopped and back", func(t *testing.T) { testRedisRestart(t, n, dir) }},
		{"REPLY_TIMEOUT under a second", func(t *testing.T) { testReplyTimeoutUnderASecond(t, n, dir) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t)
		})
	}
}

// distributed is a running distributed step, with a Redis client to look
// into the queue.
type distributed struct {
	*Stack
	rdb *redis.Client
}

// startDistributed starts step n's programs. The cleaner is named
// cleanerID, and gateway's REPLY_TIMEOUT is replyTimeout unless "".
func startDistributed(t *testing.T, n int, dir, replyTimeout string, opts Options) *distributed {
	t.Helper()
	if opts.ProgramEnv == nil {
		opts.ProgramEnv = map[string]map[string]string{}
	}
	for _, name := range []string{gatewayName, cleanerName} {
		if opts.ProgramEnv[name] == nil {
			opts.ProgramEnv[name] = map[string]string{}
		}
	}
	opts.ProgramEnv[cleanerName]["CLEANER_NAME"] = cleanerID
	if replyTimeout != "" {
		opts.ProgramEnv[gatewayName]["REPLY_TIMEOUT"] = replyTimeout
	}
	s := &distributed{Stack: start(t, n, dir, opts)}
	// On SIGTERM the cleaner finishes its blocking read of the queue (up
	// to 2 s) before it exits. Tests end by killing it instead, to stay
	// fast; testTraceAndShutdown checks that SIGTERM stops it cleanly.
	t.Cleanup(s.Programs[cleanerName].Kill)
	s.rdb = redis.NewClient(&redis.Options{Addr: s.Redis.Addr()})
	t.Cleanup(func() { s.rdb.Close() })
	return s
}

// pending returns the jobs that the cleaners took and have not answered
// yet, or nil while no cleaner has made its group.
func (s *distributed) pending(t *testing.T) []redis.XPendingExt {
	t.Helper()
	ctx := context.Background()
	groups, err := s.rdb.XInfoGroups(ctx, jobsStream).Result()
	if err != nil || len(groups) == 0 {
		return nil
	}
	pending, err := s.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: jobsStream, Group: groups[0].Name, Start: "-", End: "+", Count: 100,
	}).Result()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	return pending
}

// queued returns how many jobs are on the stream, waiting or in hand.
func (s *distributed) queued(t *testing.T) int64 {
	t.Helper()
	n, err := s.rdb.XLen(context.Background(), jobsStream).Result()
	if err != nil {
		t.Fatalf("XLEN: %v", err)
	}
	return n
}

// answer is what a GET returned; getAnswer may run outside the test's
// goroutine.
type answer struct {
	status int
	header http.Header
	body   contracttest.Response
	took   time.Duration
	err    error
}

var client = &http.Client{Timeout: 30 * time.Second}

// getAnswer sends GET url and decodes the JSON answer.
func getAnswer(url string) answer {
	start := time.Now()
	resp, err := client.Get(url)
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

// eventually polls cond every 20 ms for up to timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
	}
}

// testDistributedContract: the tutorial's HTTP contract, kept by the
// three programs together.
func testDistributedContract(t *testing.T, n int, dir string) {
	contracttest.Run(t, func(t *testing.T, githubURL string) string {
		return startDistributed(t, n, dir, "", Options{
			GitHubURL:  githubURL,
			ProgramEnv: map[string]map[string]string{contributorsName: {"GITHUB_TOKEN": contracttest.Token}},
		}).URL
	})
}

// testTraceAndShutdown: the lesson's requests, then SIGTERM stops each
// program with exit status 0. The tracers flush only then (an hour
// between flushes), and each request's trace in Jaeger holds the lesson.
// The first request's trace holds nothing else: only the spans the lesson
// names, each once, in one trace, under one root, with no span.kind where
// the lesson names none; and Jaeger heard from exactly the services that
// the lesson names.
func testTraceAndShutdown(t *testing.T, n int, dir string, l lesson.Lesson, d Distributed) {
	s := startDistributed(t, n, dir, "", Options{Env: map[string]string{
		"JAEGER_REPORTER_FLUSH_INTERVAL": "1h",
		"OTEL_BSP_SCHEDULE_DELAY":        fmt.Sprint(time.Hour.Milliseconds()), // step 9's OpenTelemetry SDK
	}})
	var sents []lesson.Sent
	for _, r := range l.Requests {
		sent := s.send(t, r)
		if sent.Problems != nil {
			t.Fatal(strings.Join(sent.Problems, "\n"))
		}
		if len(sent.TraceID) != 32 {
			t.Fatalf("X-Trace-Id = %q, want a 128-bit trace ID", sent.TraceID)
		}
		sents = append(sents, sent)
	}
	for _, name := range []string{gatewayName, contributorsName, cleanerName} {
		if err := s.Programs[name].Stop(); err != nil {
			t.Errorf("SIGTERM: %v", err)
		}
	}
	var first jaeger.Trace
	for i, r := range l.Requests {
		problems, trace := s.checkTrace(t, r, sents[i])
		if i == 0 {
			first = trace
			problems = append(problems, lesson.OnlyThePromised(trace, r, sents[i].TraceID)...)
		}
		for _, p := range problems {
			t.Errorf("GET %s: %s", r.Path, p)
		}
		if problems != nil {
			t.Logf("the trace of GET %s:\n%s", r.Path, traceview.JaegerTree(trace))
		}
	}
	for _, p := range s.services(t, l.Requests[0]) {
		t.Error(p)
	}
	if d.Trace != nil {
		d.Trace(t, s.Stack, first)
	}
}

// services checks that Jaeger heard, in this run, from exactly the step's
// programs that r's spans name.
func (s *distributed) services(t *testing.T, r lesson.Request) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), lesson.TraceTimeout)
	defer cancel()
	var problems []string
	for _, p := range s.Step.Programs {
		service := strings.TrimPrefix(p.Service, s.Step.Profile()+"-")
		want := slices.ContainsFunc(r.Spans, func(span lesson.Span) bool { return span.Service == service })
		traces, err := s.Jaeger.Client().Find(ctx, service, "", s.Since)
		if err != nil {
			t.Fatalf("asking Jaeger for %s's traces: %v", service, err)
		}
		got := slices.ContainsFunc(traces, func(trace jaeger.Trace) bool { return s.reported(trace, service) })
		if got != want {
			problems = append(problems, fmt.Sprintf("Jaeger has spans of %s: %v, want %v (the lesson's spans name it: %v)", service, got, want, want))
		}
	}
	return problems
}

// reported reports whether trace has a span of service that a program of
// this run reported.
func (s *Stack) reported(trace jaeger.Trace, service string) bool {
	for _, span := range trace.Spans {
		if trace.ServiceName(span) == service && s.HasOwn(trace, service, span.OperationName) {
			return true
		}
	}
	return false
}

// testLateJobDropped: with no cleaner, the request ends in a 504 after
// REPLY_TIMEOUT, and the job stays queued. A cleaner started later drops
// it, with a log line, rather than clean it for a client that has gone.
func testLateJobDropped(t *testing.T, n int, dir string) {
	const replyTimeout = 2 * time.Second
	s := startDistributed(t, n, dir, replyTimeout.String(), Options{})
	cleaner := s.Programs[cleanerName]
	if err := cleaner.Stop(); err != nil {
		t.Fatal(err)
	}

	// After REPLY_TIMEOUT, and less than a second more: the gateway waited
	// for the answer, not gave up at once.
	a := getAnswer(s.URL + "/git/golang/go")
	wantRefusal(t, a, http.StatusGatewayTimeout, "cleaner", replyTimeout+time.Second)
	if a.took < replyTimeout-200*time.Millisecond {
		t.Errorf("504 after %s, want at least REPLY_TIMEOUT (%s) less 200ms", a.took, replyTimeout)
	}
	if n := s.queued(t); n != 1 {
		t.Fatalf("%d jobs on the stream, want 1", n)
	}

	cleaner.Restart(t)
	eventually(t, 10*time.Second, "the restarted cleaner dropped the late job", func() bool {
		return strings.Contains(cleaner.Output(), "dropped a job whose client stopped waiting")
	})
	eventually(t, 5*time.Second, "the late job left the stream", func() bool { return s.queued(t) == 0 })
	if strings.Contains(cleaner.Output(), "took over") {
		t.Errorf("the cleaner took a job over; it should only have dropped the late one:\n%s", cleaner.Output())
	}
}

// testDrain: SIGTERM while a request waits for a cleaner that does not
// answer. The gateway lets the request finish (its 504, after
// REPLY_TIMEOUT), then exits with status 0: its drain is longer than its
// longest request.
func testDrain(t *testing.T, n int, dir string) {
	const replyTimeout = 6 * time.Second
	s := startDistributed(t, n, dir, replyTimeout.String(), Options{})
	if err := s.Programs[cleanerName].Stop(); err != nil {
		t.Fatal(err)
	}

	done := make(chan answer, 1)
	go func() { done <- getAnswer(s.URL + "/git/golang/go") }()
	eventually(t, 5*time.Second, "the job queued", func() bool { return s.queued(t) == 1 })
	if err := s.Programs[gatewayName].Stop(); err != nil {
		t.Errorf("SIGTERM with a request in flight: %v", err)
	}
	wantRefusal(t, <-done, http.StatusGatewayTimeout, "cleaner", replyTimeout+time.Second)
}

// testCleanerKilledMidJob: a cleaner killed while it cleans (BAD_THINGS
// makes a big repository take 2 s) and restarted under the same name
// (CLEANER_NAME) takes the job over once it has sat idle for ClaimIdle
// (5 s), well within the gateway's wait (15 s), and the waiting client
// gets its answer.
func testCleanerKilledMidJob(t *testing.T, n int, dir string) {
	s := startDistributed(t, n, dir, "", Options{ProgramEnv: map[string]map[string]string{cleanerName: {"BAD_THINGS": "on"}}})
	cleaner := s.Programs[cleanerName]

	done := make(chan answer, 1)
	go func() { done <- getAnswer(s.URL + "/git/torvalds/linux") }()
	eventually(t, 10*time.Second, "the cleaner took the job", func() bool { return len(s.pending(t)) == 1 })
	cleaner.Kill()
	if pending := s.pending(t); len(pending) != 1 || pending[0].Consumer != cleanerID {
		t.Fatalf("after the kill, pending = %+v, want the job pending at %s", pending, cleanerID)
	}

	cleaner.Restart(t)
	select {
	case a := <-done:
		wantContributors(t, a, "torvalds", "linux")
	case <-time.After(20 * time.Second):
		t.Fatal("no answer 20 s after the restart")
	}
	eventually(t, 5*time.Second, "the job done with", func() bool { return len(s.pending(t)) == 0 && s.queued(t) == 0 })
	restarted := cleaner.Output()[strings.LastIndex(cleaner.Output(), "restarted"):]
	if !strings.Contains(restarted, "took over an abandoned job") || !strings.Contains(restarted, "from="+cleanerID) {
		t.Errorf("the restarted cleaner did not log that it took its own job over:\n%s", restarted)
	}
}

// testConcurrentRequests: requests for the same repositories at the same
// time each get their own, right, answer.
func testConcurrentRequests(t *testing.T, n int, dir string) {
	s := startDistributed(t, n, dir, "", Options{})
	repos := [][2]string{{"golang", "go"}, {"torvalds", "linux"}, {"rust-lang", "rust"}, {"nodejs", "node"}}
	const requests = 30
	answers := make([]answer, requests)
	var wg sync.WaitGroup
	for i := range requests {
		repo := repos[i%len(repos)]
		wg.Go(func() { answers[i] = getAnswer(s.URL + "/git/" + repo[0] + "/" + repo[1]) })
	}
	wg.Wait()
	for i, a := range answers {
		repo := repos[i%len(repos)]
		wantContributors(t, a, repo[0], repo[1])
	}
}

// testRedisRestart: while Redis is down the gateway says so at once (503),
// and the cleaner's /healthz says it cannot take jobs (503); once Redis is
// back, empty, requests succeed again without any program being
// restarted.
func testRedisRestart(t *testing.T, n int, dir string) {
	s := startDistributed(t, n, dir, "5s", Options{})
	cleanerHealth := s.URLs[cleanerName] + "/healthz"
	wantContributors(t, getAnswer(s.URL+"/git/golang/go"), "golang", "go")

	if err := s.Redis.Stop(); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, getAnswer(s.URL+"/git/golang/go"), http.StatusServiceUnavailable, "Redis", 2*time.Second)
	var health answer
	eventually(t, 15*time.Second, "the cleaner's /healthz still 200 without Redis", func() bool {
		health = getAnswer(cleanerHealth)
		return health.status == http.StatusServiceUnavailable
	})
	if health.err != nil || !strings.Contains(health.body.Error, "Redis") {
		t.Errorf("the cleaner's /healthz = %d %q (%v), want a JSON error naming Redis", health.status, health.body.Error, health.err)
	}

	s.Redis.Restart(t)
	var statuses []int
	var a answer
	eventually(t, 15*time.Second, "a 200 after Redis came back", func() bool {
		a = getAnswer(s.URL + "/git/golang/go")
		statuses = append(statuses, a.status)
		return a.status == http.StatusOK
	})
	wantContributors(t, a, "golang", "go")
	t.Logf("statuses after the restart: %v", statuses)
	eventually(t, 10*time.Second, "the cleaner's /healthz 200 again", func() bool {
		return getAnswer(cleanerHealth).status == http.StatusOK
	})
}

// testReplyTimeoutUnderASecond: the gateway refuses to start with a
// REPLY_TIMEOUT it cannot keep (the queue waits in whole seconds), and
// says which variable is wrong.
func testReplyTimeoutUnderASecond(t *testing.T, n int, dir string) {
	gateway := e2e.Build(t, programDir(t, n, dir, gatewayName))
	for _, value := range []string{"0", "500ms", "soon"} {
		p := e2e.Start(t, gatewayName, gateway, map[string]string{
			"HOST": "127.0.0.1", "PORT": strconv.Itoa(e2e.FreePort(t)), "REPLY_TIMEOUT": value,
		})
		var exit *exec.ExitError
		if err := p.Wait(10 * time.Second); !errors.As(err, &exit) || !strings.Contains(p.Output(), "REPLY_TIMEOUT") {
			t.Errorf("REPLY_TIMEOUT=%s: %v, want an exit with an error naming REPLY_TIMEOUT:\n%s", value, err, p.Output())
		}
	}
}

// TestServiceNameFromEnv: OpenTelemetry's standard OTEL_SERVICE_NAME
// renames a program's service in Jaeger (steps 9 on): the name a program
// gives itself is only the default. The gateway gets another name; its
// request's trace, read back from Jaeger, has the gateway's spans under
// that name and none under "gateway", and the contributors service keeps
// its own name.
func TestServiceNameFromEnv(t *testing.T, n int, dir string) {
	renamed := "front-door-" + stack.RandomHex(4)
	s := startDistributed(t, n, dir, "", Options{ProgramEnv: map[string]map[string]string{
		gatewayName: {"OTEL_SERVICE_NAME": renamed},
	}})
	a := getAnswer(s.URL + "/git/golang/go")
	wantContributors(t, a, "golang", "go")
	traceID := a.header.Get("X-Trace-Id")
	if traceID == "" {
		t.Fatal("the answer has no X-Trace-Id")
	}
	ctx, cancel := context.WithTimeout(context.Background(), lesson.TraceTimeout)
	defer cancel()
	services := func(trace jaeger.Trace) map[string]bool {
		names := map[string]bool{}
		for _, span := range trace.Spans {
			names[trace.ServiceName(span)] = true
		}
		return names
	}
	trace, err := s.Jaeger.Client().WaitForTrace(ctx, traceID, func(trace jaeger.Trace) bool {
		names := services(trace)
		return names[renamed] && names[contributorsName] && names[cleanerName]
	})
	if err != nil {
		t.Fatalf("OTEL_SERVICE_NAME=%s for the gateway: %v; the trace's services: %v", renamed, err, services(trace))
	}
	if names := services(trace); names[gatewayName] {
		t.Errorf("OTEL_SERVICE_NAME=%s for the gateway, yet the trace has spans of %q: %v", renamed, gatewayName, names)
	}
	for _, span := range trace.Spans {
		if span.ParentID() == "" && trace.ServiceName(span) != renamed {
			t.Errorf("the trace's root is a span of %q, want %q", trace.ServiceName(span), renamed)
		}
	}
}
