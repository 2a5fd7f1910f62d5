package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
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
