package stepsuite

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
	jaegerclient "github.com/uber/jaeger-client-go"
)

// Monolith is what TestInProcess needs of a one-program step's package
// main (steps 2-5), whose code it runs in the test's own process.
type Monolith struct {
	Step int
	// Start serves the program's routes against the GitHub at githubURL
	// (GITHUB_TOKEN contracttest.Token, a GitHub timeout of a second),
	// and returns their base URL.
	Start func(t *testing.T, githubURL string) string
	// Handler is the program's whole handler against the GitHub at
	// githubURL: its routes inside its request log, which logs to logger
	// with jaegerUI as the base of its trace links (steps 3 on).
	Handler func(logger *slog.Logger, jaegerUI, githubURL string) http.Handler
	Wild
}

// TestInProcess tests, in the test's own process, what every one-program
// step keeps (a request log line, step 2's mystery), and for the traced
// steps the step's lesson on a mocktracer's spans, the trace ID's header
// and log link with a real Jaeger tracer, and a client's trace header
// ignored. (TestMonolith and Test check the same on the real program and
// the trace in Jaeger; these are quicker to run and to debug.)
func TestInProcess(t *testing.T, m Monolith) {
	t.Run("request log line", func(t *testing.T) { testLogLine(t, m) })
	t.Run("wild requests are slow together", func(t *testing.T) { testWild(t, m) })
	l, err := lesson.For(m.Step)
	if err != nil {
		return // an untraced step
	}
	t.Run("lesson on a mocktracer", func(t *testing.T) { testLessonInProcess(t, m, l) })
	t.Run("trace ID header and log link", func(t *testing.T) { testTraceIDAndLink(t, m, l.Requests[0]) })
	t.Run("client's trace header ignored", func(t *testing.T) { testClientHeaderIgnored(t, m, l.Requests[0]) })
}

// testLogLine: one line per request, with method, path, status, duration.
func testLogLine(t *testing.T, m Monolith) {
	var logs bytes.Buffer
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	handler := m.Handler(slog.New(slog.NewTextHandler(&logs, nil)), "http://jaeger.example:16686", githubURL)
	handler.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/nothing/here", nil))

	line := logs.String()
	for _, want := range []string{"method=GET", "path=/nothing/here", "status=404", "duration="} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Errorf("want one log line per request, got %q", line)
	}
}

// testLessonInProcess holds the spans a mocktracer records to the lesson.
func testLessonInProcess(t *testing.T, m Monolith, l lesson.Lesson) {
	if l.Env["BAD_THINGS"] == "on" {
		t.Cleanup(m.On(10 * time.Millisecond))
	}
	tracer := tracetest.Install(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := m.Start(t, githubURL)
	for _, r := range l.Requests {
		tracer.Reset()
		if status, _, body := getT(t, base+r.Path, nil); status != r.Status {
			t.Errorf("GET %s answered %d, want %d: %s", r.Path, status, r.Status, body)
		}
		// The request's span finishes as the handler returns, which can
		// be just after the client has the answer.
		WaitFor(t, "the request's span", func() bool {
			_, ok := lesson.FindSpan(mockTrace(tracer.FinishedSpans()), r.Spans[0].Service, r.Spans[0].Operation)
			return ok
		})
		for _, problem := range r.Check(mockTrace(tracer.FinishedSpans()), "", nil) {
			t.Errorf("GET %s: %s", r.Path, problem)
		}
		if t.Failed() {
			t.Logf("the spans:\n%s", tracetest.Tree(tracer.FinishedSpans()))
		}
	}
}

// mockTrace is the trace of a mocktracer's spans as Jaeger's API would
// show it: one service, the gateway.
func mockTrace(spans []*mocktracer.MockSpan) jaeger.Trace {
	trace := jaeger.Trace{Processes: map[string]jaeger.Process{"p": {ServiceName: "gateway"}}}
	for _, s := range spans {
		span := jaeger.Span{
			SpanID: strconv.Itoa(s.SpanContext.SpanID), OperationName: s.OperationName,
			ProcessID: "p", StartTime: s.StartTime.UnixMicro(),
		}
		if s.ParentID != 0 {
			span.References = []jaeger.Reference{{RefType: "CHILD_OF", SpanID: strconv.Itoa(s.ParentID)}}
		}
		for key, value := range s.Tags() {
			span.Tags = append(span.Tags, jaeger.KeyValue{Key: key, Value: value})
		}
		for _, record := range s.Logs() {
			var fields []jaeger.KeyValue
			for _, f := range record.Fields {
				fields = append(fields, jaeger.KeyValue{Key: f.Key, Value: f.ValueString})
			}
			span.Logs = append(span.Logs, jaeger.Log{Timestamp: record.Timestamp.UnixMicro(), Fields: fields})
		}
		trace.Spans = append(trace.Spans, span)
	}
	return trace
}

// memoryTracer makes a real Jaeger tracer, reporting to memory, the global
// tracer for the rest of the test.
func memoryTracer(t *testing.T) *jaegerclient.InMemoryReporter {
	reporter := jaegerclient.NewInMemoryReporter()
	tracer, closer := jaegerclient.NewTracer("gateway", jaegerclient.NewConstSampler(true), reporter,
		jaegerclient.TracerOptions.Gen128Bit(true))
	previous := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() {
		closer.Close()
		opentracing.SetGlobalTracer(previous)
	})
	return reporter
}

// reportedSpan waits for the reporter's span named operation.
func reportedSpan(t *testing.T, reporter *jaegerclient.InMemoryReporter, operation string) *jaegerclient.Span {
	var request *jaegerclient.Span
	WaitFor(t, "the request span", func() bool {
		for _, s := range reporter.GetSpans() {
			if s := s.(*jaegerclient.Span); s.OperationName() == operation {
				request = s
			}
		}
		return request != nil
	})
	return request
}

// testTraceIDAndLink: the client gets the trace ID, and the log line
// links to the trace in the Jaeger UI.
func testTraceIDAndLink(t *testing.T, m Monolith, r lesson.Request) {
	reporter := memoryTracer(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	var logs bytes.Buffer
	handler := m.Handler(slog.New(slog.NewTextHandler(&logs, nil)), "http://localhost:16686", githubURL)

	recorder := httptest.NewRecorder()
	handler.ServeHTTP(recorder, httptest.NewRequest("GET", r.Path, nil))

	traceID := recorder.Header().Get("X-Trace-Id")
	if spans := reporter.GetSpans(); len(spans) != len(r.Spans) {
		t.Errorf("reported %d spans, want %d", len(spans), len(r.Spans))
	}
	request := reportedSpan(t, reporter, r.Spans[0].Operation)
	if want := request.SpanContext().TraceID().String(); traceID != want || len(traceID) != 32 {
		t.Errorf("X-Trace-Id = %q, want the 128-bit trace ID %q", traceID, want)
	}
	if want := "trace=http://localhost:16686/trace/" + traceID; !strings.Contains(logs.String(), want) {
		t.Errorf("log %q lacks %q", logs.String(), want)
	}
}

// testClientHeaderIgnored: in steps 3-5 the program is the edge, so every
// request starts a trace of its own. A client's uber-trace-id header,
// another trace's or a broken one, must neither break the request nor
// become the request span's parent.
func testClientHeaderIgnored(t *testing.T, m Monolith, r lesson.Request) {
	reporter := memoryTracer(t)
	_, githubURL := e2e.GitHub(t, fakegithub.Options{})
	base := m.Start(t, githubURL)

	for _, header := range []string{
		"4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1", // valid, from another trace
		"not:a:trace:id",
	} {
		reporter.Reset()
		status, response, _ := contracttest.GetWithHeader(t, base+r.Path, "Uber-Trace-Id", header)
		if status != r.Status {
			t.Errorf("Uber-Trace-Id %q: status %d, want %d", header, status, r.Status)
			continue
		}
		sc := reportedSpan(t, reporter, r.Spans[0].Operation).SpanContext()
		if got := sc.TraceID().String(); got == strings.Split(header, ":")[0] || got != response.Get("X-Trace-Id") {
			t.Errorf("Uber-Trace-Id %q: request span in trace %s (X-Trace-Id %q), want a new trace", header, got, response.Get("X-Trace-Id"))
		}
		if sc.ParentID() != 0 {
			t.Errorf("Uber-Trace-Id %q: the request span has parent %v, want none", header, sc.ParentID())
		}
	}
}
