package main

// End-to-end: the real program, built from this directory, reports to a
// real Jaeger, and the trace is read back from Jaeger's query API.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	jaegerapi "github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/tracetest"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// startProgram runs this step's program against the stand-in GitHub, with
// env added, and returns it and its base URL.
func startProgram(t *testing.T, env map[string]string) (*e2e.Process, string) {
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	return startProgramOn(t, githubURL, env)
}

// startProgramOn is startProgram against the GitHub at githubURL.
func startProgramOn(t *testing.T, githubURL string, env map[string]string) (*e2e.Process, string) {
	port := e2e.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	full := map[string]string{
		"HOST": "127.0.0.1", "PORT": fmt.Sprint(port), "GITHUB_API_URL": githubURL,
		"BAD_THINGS": "off", "JAEGER_REPORTER_FLUSH_INTERVAL": "100ms",
	}
	for k, v := range env {
		full[k] = v
	}
	program := e2e.Start(t, "step5", e2e.Build(t, "."), full)
	program.WaitHealthy(t, base+"/healthz")
	return program, base
}

func traceIDOf(t *testing.T, url string, header http.Header) string {
	t.Helper()
	id := header.Get("X-Trace-Id")
	if len(id) != 32 {
		t.Fatalf("GET %s: X-Trace-Id = %q, want a 128-bit trace ID", url, id)
	}
	return id
}

// The trace of a request for golang/go, as this step's lesson has it.
const (
	requestSpans = 3
	requestTree  = "gateway: GET /git/{owner}/{repo}\n  gateway: fetchContributorStats\n  gateway: countCommits\n"
)

func TestTraceInJaeger(t *testing.T) {
	jaeger := e2e.Jaeger(t)
	program, base := startProgram(t, map[string]string{"JAEGER_ENDPOINT": jaeger.CollectorEndpoint})

	status, header, _ := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	traceID := traceIDOf(t, base, header)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := jaeger.Client().WaitForTrace(ctx, traceID, tracetest.HasSpans(requestSpans))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tracetest.JaegerTree(trace), requestTree; got != want {
		t.Errorf("trace in Jaeger:\n%s\nwant:\n%s", got, want)
	}
	if want := "trace=http://localhost:16686/trace/" + traceID; !strings.Contains(program.Output(), want) {
		t.Errorf("the request log line lacks the link %q:\n%s", want, program.Output())
	}
}

// TestSpansFlushedOnShutdown: with a flush interval of an hour, only closing
// the tracer on SIGTERM can get the spans to Jaeger.
func TestSpansFlushedOnShutdown(t *testing.T) {
	jaeger := e2e.Jaeger(t)
	program, base := startProgram(t, map[string]string{
		"JAEGER_ENDPOINT": jaeger.CollectorEndpoint, "JAEGER_REPORTER_FLUSH_INTERVAL": "1h",
	})
	_, header, _ := contracttest.Get(t, base+"/git/golang/go")
	traceID := traceIDOf(t, base, header)

	// Until SIGTERM the spans wait in the tracer's buffer.
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		trace, err := jaeger.Client().Trace(ctx, traceID)
		cancel()
		if !errors.Is(err, jaegerapi.ErrNotFound) {
			t.Fatalf("before SIGTERM, Jaeger has trace %s: %d spans, %v; want it not found", traceID, len(trace.Spans), err)
		}
	}

	if err := program.Stop(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	trace, err := jaeger.Client().WaitForTrace(ctx, traceID, tracetest.HasSpans(requestSpans))
	if err != nil {
		t.Fatalf("the spans were not flushed on shutdown: %v", err)
	}
	if got := tracetest.JaegerTree(trace); got != requestTree {
		t.Errorf("trace flushed on shutdown:\n%s\nwant:\n%s", got, requestTree)
	}
}

// TestJaegerUnreachable: spans are dropped (and the drop is logged), the
// requests are not.
func TestJaegerUnreachable(t *testing.T) {
	nobody := fmt.Sprintf("http://127.0.0.1:%d/api/traces", e2e.FreePort(t))
	program, base := startProgram(t, map[string]string{"JAEGER_ENDPOINT": nobody})

	for range 3 {
		if status, _, body := contracttest.Get(t, base+"/git/golang/go"); status != http.StatusOK || len(body.Contributors) == 0 {
			t.Fatalf("status %d, %d contributors: want the answer although Jaeger is down", status, len(body.Contributors))
		}
	}
	if err := program.Stop(); err != nil {
		t.Errorf("SIGTERM with Jaeger down: %v", err)
	}
	if !strings.Contains(program.Output(), "level=ERROR msg=\"jaeger: ") {
		t.Errorf("the tracer did not log that it could not reach Jaeger:\n%s", program.Output())
	}
}

// TestMalformedTraceHeaderInJaeger: a client's broken uber-trace-id header
// gives a trace of the request's own, with the request span as its root.
func TestMalformedTraceHeaderInJaeger(t *testing.T) {
	jaeger := e2e.Jaeger(t)
	_, base := startProgram(t, map[string]string{"JAEGER_ENDPOINT": jaeger.CollectorEndpoint})

	status, header, _ := contracttest.GetWithHeader(t, base+"/git/golang/go", "Uber-Trace-Id", "zzzz:not-hex:0:1")
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := jaeger.Client().WaitForTrace(ctx, traceIDOf(t, base, header), tracetest.HasSpans(requestSpans))
	if err != nil {
		t.Fatal(err)
	}
	// One root, the request's span: nothing of the garbage header survived.
	tree := tracetest.JaegerTree(trace)
	if !strings.HasPrefix(tree, "gateway: GET /git/{owner}/{repo}\n") || strings.Contains(tree, "\ngateway") || strings.Contains(tree, "orphan") {
		t.Errorf("trace:\n%s\nwant the request span as its only root", tree)
	}
	if tree != requestTree {
		t.Errorf("trace:\n%s\nwant:\n%s", tree, requestTree)
	}
}

// TestBadThingsSwitch: in the real program, wild.go's misbehaviour is on
// by default (a big repository takes its 2 s rebuild of the login index),
// and BAD_THINGS=off switches it off.
func TestBadThingsSwitch(t *testing.T) {
	for _, c := range []struct {
		name, value string
		slow        bool
	}{
		// Empty, as os.Getenv sees unset; it also overrides a BAD_THINGS
		// that go test itself may run with.
		{"unset", "", true},
		{"off", "off", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, base := startProgram(t, map[string]string{"BAD_THINGS": c.value})
			took, err := timedGet(base + "/git/torvalds/linux")
			switch {
			case err != nil:
				t.Fatal(err)
			case c.slow && took < 2*time.Second:
				t.Errorf("BAD_THINGS=%q: torvalds/linux took %v, want at least 2s (the misbehaviour on)", c.value, took)
			case !c.slow && took >= time.Second:
				t.Errorf("BAD_THINGS=%q: torvalds/linux took %v, want well under 2s (the misbehaviour off)", c.value, took)
			}
		})
	}
}

// TestTagsAndLogsInJaeger: the tags and logs reach Jaeger as the lesson
// says, on the spans it says.
func TestTagsAndLogsInJaeger(t *testing.T) {
	jaeger := e2e.Jaeger(t)
	_, base := startProgram(t, map[string]string{"JAEGER_ENDPOINT": jaeger.CollectorEndpoint})

	_, header, _ := contracttest.Get(t, base+"/git/broken/repo")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := jaeger.Client().WaitForTrace(ctx, traceIDOf(t, base, header), tracetest.HasSpans(2))
	if err != nil {
		t.Fatal(err)
	}
	spans := map[string]jaegerSpan{}
	for _, s := range trace.Spans {
		spans[s.OperationName] = jaegerSpan(s)
	}
	request, fetch := spans["GET /git/{owner}/{repo}"], spans["fetchContributorStats"]
	request.wantTags(t, map[string]string{
		"repo": "broken/repo", "span.kind": "server", "http.method": "GET",
		"http.url": "/git/broken/repo", "http.status_code": "502", "error": "true",
	})
	fetch.wantTags(t, map[string]string{"span.kind": "client", "http.status_code": "500", "error": "true"})
	if url := fetch.tag("http.url"); !strings.HasSuffix(url, "/repos/broken/repo/stats/contributors") {
		t.Errorf("fetch span's http.url = %q", url)
	}
	if len(fetch.Logs) != 1 || !strings.Contains(fmt.Sprint(fetch.Logs[0].Fields), "500") {
		t.Errorf("fetch span's logs = %+v, want the upstream error", fetch.Logs)
	}
}

// TestMysterySolvedInJaeger: with the misbehaviour on, a small repository
// asked for next to a big one waits for the login index lock, and its
// trace in Jaeger shows it.
func TestMysterySolvedInJaeger(t *testing.T) {
	jaeger := e2e.Jaeger(t)
	github, answered, githubURL := answeringGitHub(t)
	_, base := startProgramOn(t, githubURL, map[string]string{"JAEGER_ENDPOINT": jaeger.CollectorEndpoint, "BAD_THINGS": "on"})

	big := make(chan error, 1)
	go func() {
		_, err := timedGet(base + "/git/torvalds/linux")
		big <- err
	}()
	// The big one takes the lock once it has its statistics: ask for the
	// small one after the stand-in has answered the big one's request. Every
	// answer of the stand-in takes 300 ms, so the small one reaches the lock
	// that long after the big one took it.
	waitFor(t, "the stand-in to get the torvalds/linux request", func() bool { return len(github.Requests()) == 1 })
	waitFor(t, "the stand-in to answer it", func() bool { return answered.Load() == 1 })
	_, header, _ := contracttest.Get(t, base+"/git/golang/go")
	if err := <-big; err != nil {
		t.Errorf("the big repository: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	trace, err := jaeger.Client().WaitForTrace(ctx, traceIDOf(t, base, header), tracetest.HasSpans(3))
	if err != nil {
		t.Fatal(err)
	}
	var count jaegerSpan
	for _, s := range trace.Spans {
		if s.OperationName == "countCommits" {
			count = jaegerSpan(s)
		}
	}
	waiting, locked := count.logTime("waiting for the login index lock"), count.logTime("login index locked")
	if waiting == 0 || locked == 0 {
		t.Fatalf("countCommits logs = %+v, want the lock's events", count.Logs)
	}
	if waited := time.Duration(locked-waiting) * time.Microsecond; waited < time.Second {
		t.Errorf("golang/go waited %v for the lock, want over a second (behind torvalds/linux)", waited)
	}
}

// answeringGitHub runs a stand-in GitHub that answers in 300 ms, and
// counts the answers it has finished.
func answeringGitHub(t *testing.T) (*fakegithub.Server, *atomic.Int32, string) {
	server, answered := fakegithub.New(fakegithub.Options{Latency: 300 * time.Millisecond}), &atomic.Int32{}
	httpServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.ServeHTTP(w, r)
		answered.Add(1)
	}))
	t.Cleanup(func() {
		httpServer.CloseClientConnections()
		httpServer.Close()
	})
	return server, answered, httpServer.URL + "/"
}

// jaegerSpan reads tags and logs of a span read back from Jaeger.
type jaegerSpan jaegerapi.Span

func (s jaegerSpan) tag(key string) string {
	value, ok := jaegerapi.Span(s).Tag(key)
	if !ok {
		return ""
	}
	return fmt.Sprint(value)
}

func (s jaegerSpan) wantTags(t *testing.T, want map[string]string) {
	t.Helper()
	for key, value := range want {
		if got := s.tag(key); got != value {
			t.Errorf("span %q: tag %s = %q, want %q", s.OperationName, key, got, value)
		}
	}
}

// logTime returns the time (µs) of the log whose event is event, or 0.
func (s jaegerSpan) logTime(event string) int64 {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == "event" && f.Value == event {
				return l.Timestamp
			}
		}
	}
	return 0
}
