package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
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

// TestTraceContextTravels: with OpenTelemetry's SDK behind the bridge,
// the contributors service gets a W3C traceparent naming fetchStats as the
// parent, and the job's headers carry queue.Push's.
func TestTraceContextTravels(t *testing.T) {
	_, exporter := oteltest.Install(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL

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
