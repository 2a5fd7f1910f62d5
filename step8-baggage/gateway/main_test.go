package main

import (
	"fmt"
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

// TestSpanTree: step 7's lesson in the gateway. The request's span has a
// child for each call to another service: the contributors service (a
// client span), the queue (a producer span), and the wait for the reply.
func TestSpanTree(t *testing.T) {
	tracer := tracetest.Install(t)
	base := gateway.Start(t, stepsuite.GatewayOptions{}).URL

	contracttest.Get(t, base+"/git/golang/go")
	want := "GET /git/{owner}/{repo}\n  fetchStats\n  queue.Push\n  queue.WaitForReply\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	tracetest.WantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{
		"span.kind": ext.SpanKindRPCServerEnum, "repo": "golang/go", "http.status_code": uint16(200),
	})
	tracetest.WantTags(t, tracetest.Find(t, tracer, "fetchStats"), map[string]any{
		"span.kind": ext.SpanKindRPCClientEnum, "peer.service": "contributors",
		"http.method": "GET", "http.status_code": uint16(200),
	})
	tracetest.WantTags(t, tracetest.Find(t, tracer, "queue.Push"), map[string]any{
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
	tracetest.WantTags(t, tracetest.Find(t, tracer, "fetchStats"), map[string]any{"error": true, "http.status_code": uint16(502)})
	tracetest.WantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{"error": true, "http.status_code": uint16(502)})
}

// TestSpanOfTheWaitShowsTheTimeout: the span of the wait is where a 504
// for a silent cleaner shows.
func TestSpanOfTheWaitShowsTheTimeout(t *testing.T) {
	tracer := tracetest.Install(t)
	base := gateway.Start(t, stepsuite.GatewayOptions{ReplyTimeout: time.Second, NoCleaner: true}).URL

	status, _, body := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusGatewayTimeout || !strings.Contains(body.Error, "cleaner did not answer") {
		t.Errorf("status %d %q, want 504 naming the cleaner", status, body.Error)
	}
	wait := tracetest.Find(t, tracer, "queue.WaitForReply")
	tracetest.WantTags(t, wait, map[string]any{"error": true})
	if logs := wait.Logs(); len(logs) != 1 || !strings.Contains(fmt.Sprint(logs[0].Fields), "no answer") {
		t.Errorf("queue.WaitForReply logs = %+v, want the timeout", logs)
	}
	tracetest.WantTags(t, tracetest.Find(t, tracer, "GET /git/{owner}/{repo}"), map[string]any{"error": true, "http.status_code": uint16(504)})
	if span := tracetest.Find(t, tracer, "queue.Push"); span.Tag("error") != nil {
		t.Error("queue.Push is tagged error, but the push succeeded")
	}
}

// TestTraceContextTravels: with the real Jaeger tracer, the contributors
// service gets an uber-trace-id header naming fetchStats as the parent,
// and the job's headers carry the queue.Push span's context to the cleaner.
func TestTraceContextTravels(t *testing.T) {
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
	spans := map[string]jaeger.SpanContext{}
	for _, s := range reporter.GetSpans() {
		span := s.(*jaeger.Span)
		spans[span.OperationName()] = span.SpanContext()
	}
	root, fetch, push := spans["GET /git/{owner}/{repo}"], spans["fetchStats"], spans["queue.Push"]
	if len(spans) != 4 || !root.IsValid() || !fetch.IsValid() || !push.IsValid() {
		t.Fatalf("reported spans %v, want the request's, fetchStats, queue.Push and queue.WaitForReply", spans)
	}
	if got := header.Get("X-Trace-Id"); got != root.TraceID().String() {
		t.Errorf("X-Trace-Id = %q, want %s", got, root.TraceID())
	}

	headers := rig.Contributors.Headers()
	if len(headers) != 1 {
		t.Fatalf("the contributors service got %d requests, want 1", len(headers))
	}
	sent, err := jaeger.ContextFromString(headers[0].Get("Uber-Trace-Id"))
	if err != nil {
		t.Fatalf("Uber-Trace-Id %q: %v", headers[0].Get("Uber-Trace-Id"), err)
	}
	if sent.TraceID() != root.TraceID() || sent.SpanID() != fetch.SpanID() {
		t.Errorf("Uber-Trace-Id names span %s of trace %s, want fetchStats %s of %s",
			sent.SpanID(), sent.TraceID(), fetch.SpanID(), root.TraceID())
	}

	jobs := rig.Cleaner.Headers()
	if len(jobs) != 1 {
		t.Fatalf("the cleaner got %d jobs, want 1", len(jobs))
	}
	inJob, err := jaeger.ContextFromString(jobs[0]["uber-trace-id"])
	if err != nil {
		t.Fatalf("the job's uber-trace-id %q: %v", jobs[0]["uber-trace-id"], err)
	}
	if inJob.TraceID() != root.TraceID() || inJob.SpanID() != push.SpanID() {
		t.Errorf("the job names span %s of trace %s, want queue.Push %s of %s",
			inJob.SpanID(), inJob.TraceID(), push.SpanID(), root.TraceID())
	}
}
