package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/tracetest"
	"github.com/uber/jaeger-client-go"
)

func init() {
	// The stand-in answers 202 at once; no need to wait as long as for GitHub.
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
	badThings = false // the tests about the misbehaviour switch it on themselves
}

func startApp(t *testing.T, githubURL string) string {
	app := &app{
		github:        newGitHubClient(githubURL, contracttest.Token),
		githubTimeout: time.Second,
	}
	server := httptest.NewServer(app.routes())
	t.Cleanup(server.Close)
	return server.URL
}

func TestContract(t *testing.T) {
	contracttest.Run(t, startApp)
}

func TestRequestLogLine(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	handler := logRequests(logger, "http://jaeger.example:16686", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusTeapot, "short and stout")
	}))

	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/git/a/b", nil))

	line := logs.String()
	for _, want := range []string{"method=GET", "path=/git/a/b", "status=418", "duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("want one log line per request, got %q", line)
	}
}

// TestWildRequestsAreSlowTogether: step 2's mystery, from the outside.
func TestWildRequestsAreSlowTogether(t *testing.T) {
	lesson.TestWildRequestsAreSlowTogether(t, lesson.Wild{
		Start: startApp,
		On: func(reindex time.Duration) func() {
			saved := reindexTime
			badThings, reindexTime = true, reindex
			return func() { badThings, reindexTime = false, saved }
		},
		Held: func() bool {
			if loginIndex.TryLock() {
				loginIndex.Unlock()
				return false
			}
			return true
		},
	})
}

// TestChildSpans: step 4's lesson. The request's span has a child for each
// function it spends its time in, parented through the context.
func TestChildSpans(t *testing.T) {
	tracer := tracetest.Install(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := startApp(t, githubURL)

	contracttest.Get(t, base+"/git/golang/go")
	want := "GET /git/{owner}/{repo}\n  fetchContributorStats\n  countCommits\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}

	// A failed fetch has nothing to count.
	tracer.Reset()
	contracttest.Get(t, base+"/git/missing/repo")
	want = "GET /git/{owner}/{repo}\n  fetchContributorStats\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans of a failed request:\n%s\nwant:\n%s", got, want)
	}

	// All in one trace.
	root := tracetest.Find(t, tracer, "GET /git/{owner}/{repo}")
	fetch := tracetest.Find(t, tracer, "fetchContributorStats")
	if fetch.SpanContext.TraceID != root.SpanContext.TraceID || fetch.ParentID != root.SpanContext.SpanID {
		t.Errorf("fetch span is not the request span's child")
	}
}

// TestTraceIDHeaderAndLogLink: the client gets the trace ID, and the log
// line links to the trace in the Jaeger UI.
func TestTraceIDHeaderAndLogLink(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("gateway", jaeger.NewConstSampler(true), reporter,
		jaeger.TracerOptions.Gen128Bit(true))
	defer closer.Close()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(opentracing.NoopTracer{}) })

	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	app := &app{github: newGitHubClient(githubURL, ""), githubTimeout: time.Second}
	var logs bytes.Buffer
	handler := logRequests(slog.New(slog.NewTextHandler(&logs, nil)), "http://localhost:16686", app.routes())

	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest("GET", "/git/golang/go", nil))

	traceID := recorder.Header().Get("X-Trace-Id")
	spans := reporter.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("reported %d spans, want 3", len(spans))
	}
	if want := spans[2].Context().(jaeger.SpanContext).TraceID().String(); traceID != want || len(traceID) != 32 {
		t.Errorf("X-Trace-Id = %q, want the 128-bit trace ID %q", traceID, want)
	}
	if want := "trace=http://localhost:16686/trace/" + traceID; !strings.Contains(logs.String(), want) {
		t.Errorf("log %q lacks %q", logs.String(), want)
	}
}

// TestMalformedTraceHeader: the gateway is the edge, so every request
// starts a trace of its own. A client's uber-trace-id header, another
// trace's or a broken one, must neither break the request nor become the
// request span's parent.
func TestMalformedTraceHeader(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("gateway", jaeger.NewConstSampler(true), reporter,
		jaeger.TracerOptions.Gen128Bit(true))
	defer closer.Close()
	previous := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(previous) })
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := startApp(t, githubURL)

	for _, header := range []string{
		"4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1", // valid, from another trace
		"not:a:trace:id",
	} {
		reporter.Reset()
		status, response, _ := contracttest.GetWithHeader(t, base+"/git/golang/go", "Uber-Trace-Id", header)
		if status != http.StatusOK {
			t.Errorf("Uber-Trace-Id %q: status %d, want 200", header, status)
			continue
		}
		// The span finishes as the handler returns, which can be just
		// after the client has the answer.
		var request *jaeger.Span
		lesson.WaitFor(t, "the request span", func() bool {
			for _, s := range reporter.GetSpans() {
				if s := s.(*jaeger.Span); s.OperationName() == "GET /git/{owner}/{repo}" {
					request = s
				}
			}
			return request != nil
		})
		sc := request.SpanContext()
		if got := sc.TraceID().String(); got == strings.Split(header, ":")[0] || got != response.Get("X-Trace-Id") {
			t.Errorf("Uber-Trace-Id %q: request span in trace %s (X-Trace-Id %q), want a new trace", header, got, response.Get("X-Trace-Id"))
		}
		if sc.ParentID() != 0 {
			t.Errorf("Uber-Trace-Id %q: the request span has parent %v, want none", header, sc.ParentID())
		}
	}
}

// TestTagsAndLogs: step 5's lesson. Tags describe a whole span (which
// repository, which URL, which status); logs say what happened when (a 202
// retry, the number of contributors once counted, an upstream error).
func TestTagsAndLogs(t *testing.T) {
	tracer := tracetest.Install(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{ComputeCalls: 2})
	base := startApp(t, githubURL)

	contracttest.Get(t, base+"/git/golang/go")

	request := tracetest.Find(t, tracer, "GET /git/{owner}/{repo}")
	wantTags(t, request, map[string]any{
		"repo": "golang/go", "span.kind": ext.SpanKindRPCServerEnum,
		"http.method": "GET", "http.url": "/git/golang/go", "http.status_code": uint16(200),
	})
	fetch := tracetest.Find(t, tracer, "fetchContributorStats")
	wantTags(t, fetch, map[string]any{
		"span.kind": ext.SpanKindRPCClientEnum, "http.method": "GET",
		"http.url": githubURL + "repos/golang/go/stats/contributors", "http.status_code": uint16(200),
	})
	if _, ok := request.Tags()["error"]; ok {
		t.Error("a successful request is tagged error")
	}
	wantLogs(t, fetch, []string{
		"event=statistics not ready (202), retrying attempt=1 retry_in=1ms",
		"event=statistics not ready (202), retrying attempt=2 retry_in=1ms",
	})
	count := tracetest.Find(t, tracer, "countCommits")
	wantLogs(t, count, []string{fmt.Sprintf("contributors=%d", len(contracttest.Expected("golang", "go")))})
}

func TestFailingUpstreamIsAnError(t *testing.T) {
	tracer := tracetest.Install(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := startApp(t, githubURL)

	contracttest.Get(t, base+"/git/broken/repo")

	request := tracetest.Find(t, tracer, "GET /git/{owner}/{repo}")
	wantTags(t, request, map[string]any{"error": true, "http.status_code": uint16(502), "repo": "broken/repo"})
	fetch := tracetest.Find(t, tracer, "fetchContributorStats")
	wantTags(t, fetch, map[string]any{"error": true, "http.status_code": uint16(500)})
	logs := fetch.Logs()
	if len(logs) != 1 || logs[0].Fields[0].Key != "error.object" || !strings.Contains(logs[0].Fields[0].ValueString, "500") {
		t.Errorf("fetch logs = %+v, want the upstream error", logs)
	}
}

// TestWildLogsSolveTheMystery: with the misbehaviour on, the logs of
// countCommits show the lock and the rebuild that make requests slow.
func TestWildLogsSolveTheMystery(t *testing.T) {
	badThings, reindexTime = true, 10*time.Millisecond
	t.Cleanup(func() { badThings, reindexTime = false, 2*time.Second })
	tracer := tracetest.Install(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := startApp(t, githubURL)

	contracttest.Get(t, base+"/git/torvalds/linux")

	wantLogs(t, tracetest.Find(t, tracer, "countCommits"), []string{
		"event=waiting for the login index lock",
		"event=login index locked",
		fmt.Sprintf("event=rebuilding the login index contributors=%d", len(fakegithub.Stats("torvalds", "linux"))),
		fmt.Sprintf("contributors=%d", len(contracttest.Expected("torvalds", "linux"))),
	})
}

func wantTags(t *testing.T, span *mocktracer.MockSpan, want map[string]any) {
	t.Helper()
	for key, value := range want {
		if got := span.Tag(key); got != value {
			t.Errorf("span %q: tag %s = %v (%T), want %v (%T)", span.OperationName, key, got, got, value, value)
		}
	}
}

// wantLogs compares a span's logs, each drawn as "key=value key=value".
func wantLogs(t *testing.T, span *mocktracer.MockSpan, want []string) {
	t.Helper()
	var got []string
	for _, record := range span.Logs() {
		var fields []string
		for _, f := range record.Fields {
			fields = append(fields, f.Key+"="+f.ValueString)
		}
		got = append(got, strings.Join(fields, " "))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("span %q logs:\n%s\nwant:\n%s", span.OperationName, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
