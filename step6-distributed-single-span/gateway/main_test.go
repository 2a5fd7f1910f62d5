package main

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
	"github.com/uber/jaeger-client-go"
)

var gateway = stepsuite.Gateway{Handler: func(contributorsURL string, client *http.Client, queue *jobqueue.Queue, replyTimeout time.Duration) http.Handler {
	return (&app{logger: slog.Default(), contributorsURL: contributorsURL, http: client, queue: queue, replyTimeout: replyTimeout}).routes()
}}

// TestGateway: what every distributed step's gateway keeps, in this
// process (internal/lesson).
func TestGateway(t *testing.T) { stepsuite.TestGateway(t, gateway) }

// The tests below install a global tracer: they must not run in parallel
// (TestGateway's parallel subtests end before the next test starts).

// TestOneSpanPerRequest: step 6's lesson. Only the gateway traces, with
// one span per request: where the time goes between the contributors
// service, the queue and the cleaner does not show.
func TestOneSpanPerRequest(t *testing.T) {
	tracer := tracetest.Install(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})

	contracttest.Get(t, rig.URL+"/git/golang/go")
	want := "GET /git/{owner}/{repo}\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	span := tracetest.Find(t, tracer, "GET /git/{owner}/{repo}")
	tracetest.WantTags(t, span, map[string]any{
		"span.kind": ext.SpanKindRPCServerEnum, "repo": "golang/go", "http.status_code": uint16(200),
	})
	if span.Tag("error") != nil {
		t.Error("the span of a successful request is tagged error")
	}

	// A failed request: still one span, which says only that it failed.
	tracer.Reset()
	contracttest.Get(t, rig.URL+"/git/broken/repo")
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans of a failed request:\n%s\nwant:\n%s", got, want)
	}
	tracetest.WantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{"error": true, "http.status_code": uint16(502)})

	for _, h := range rig.Contributors.Headers() {
		if key := tracetest.TraceHeader(h); key != "" {
			t.Errorf("the contributors service got the trace header %s: %q", key, h.Get(key))
		}
	}
}

// TestTimeoutShowsOnTheOnlySpan: a silent cleaner makes the request's
// span a 504, and nothing in the trace tells which part waited.
func TestTimeoutShowsOnTheOnlySpan(t *testing.T) {
	tracer := tracetest.Install(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{ReplyTimeout: time.Second, NoCleaner: true})

	status, _, body := contracttest.Get(t, rig.URL+"/git/golang/go")
	if status != http.StatusGatewayTimeout || !strings.Contains(body.Error, "cleaner did not answer") {
		t.Errorf("status %d %q, want 504 naming the cleaner", status, body.Error)
	}
	if got, want := tracetest.Tree(tracer.FinishedSpans()), "GET /git/{owner}/{repo}\n"; got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	tracetest.WantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{"error": true, "http.status_code": uint16(504)})
}

// TestTraceStaysInTheGateway: with the real Jaeger tracer, the client gets
// the trace ID, and the trace goes no further: no uber-trace-id header to
// the contributors service, no trace context in the job.
func TestTraceStaysInTheGateway(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("gateway", jaeger.NewConstSampler(true), reporter,
		jaeger.TracerOptions.Gen128Bit(true))
	defer closer.Close()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(opentracing.NoopTracer{}) })
	rig := gateway.Start(t, stepsuite.GatewayOptions{})

	status, header, _ := contracttest.Get(t, rig.URL+"/git/golang/go")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	spans := reporter.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("reported %d spans, want 1", len(spans))
	}
	root := spans[0].(*jaeger.Span).SpanContext()
	if got := header.Get("X-Trace-Id"); got != root.TraceID().String() {
		t.Errorf("X-Trace-Id = %q, want %s", got, root.TraceID())
	}

	headers := rig.Contributors.Headers()
	if len(headers) != 1 {
		t.Fatalf("the contributors service got %d requests, want 1", len(headers))
	}
	if key := tracetest.TraceHeader(headers[0]); key != "" {
		t.Errorf("the contributors service got the trace header %s: %q", key, headers[0].Get(key))
	}
	jobs := rig.Cleaner.Headers()
	if len(jobs) != 1 {
		t.Fatalf("the cleaner got %d jobs, want 1", len(jobs))
	}
	if len(jobs[0]) != 0 {
		t.Errorf("the job carries headers: %q", jobs[0])
	}
}
