package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The gateway as main.go wires it: otelhttp's transport in its client,
// its routes in otelhttp's handler.
var gateway = stepsuite.Gateway{Handler: func(contributorsURL string, client *http.Client, queue *jobqueue.Queue, replyTimeout time.Duration) http.Handler {
	client.Transport = otelhttp.NewTransport(client.Transport)
	app := &app{contributorsURL: contributorsURL, http: client, queue: queue, replyTimeout: replyTimeout}
	return otelhttp.NewHandler(app.routes(), "gateway", tracing.NotHealthz, tracing.PublicEndpoint)
}}

// TestGateway: what every distributed step's gateway keeps, in this
// process (internal/lesson).
func TestGateway(t *testing.T) { stepsuite.TestGateway(t, gateway) }

// The tests below install a global tracer provider: they must not run in
// parallel (TestGateway's parallel subtests end before the next test
// starts).

// tree is the spans as an indented tree, children in the order they
// started: "GET /git/{owner}/{repo}\n  HTTP GET\n…".
func tree(spans []oteltest.Span) string {
	var out strings.Builder
	var walk func(parent trace.SpanID, depth int)
	walk = func(parent trace.SpanID, depth int) {
		var children []oteltest.Span
		for _, s := range spans {
			if s.Parent.SpanID() == parent {
				children = append(children, s)
			}
		}
		for i := range children {
			for j := i + 1; j < len(children); j++ {
				if children[j].StartTime.Before(children[i].StartTime) {
					children[i], children[j] = children[j], children[i]
				}
			}
		}
		for _, s := range children {
			fmt.Fprintf(&out, "%s%s\n", strings.Repeat("  ", depth), s.Name)
			walk(s.SpanContext.SpanID(), depth+1)
		}
	}
	walk(trace.SpanID{}, 0)
	return out.String()
}

// wantAttrs checks span's attributes.
func wantAttrs(t *testing.T, span oteltest.Span, want map[string]any) {
	t.Helper()
	for key, value := range want {
		if got := oteltest.Attr(span, key); got != value {
			t.Errorf("%s: attribute %s = %v (%T), want %v", span.Name, key, got, got, value)
		}
	}
}

// TestSpanTree: what the libraries make and what we write. otelhttp's
// handler makes the request's server span and its transport the client
// span of the call to the contributors service, both with HTTP's semantic
// conventions; queue.Push and queue.WaitForReply are ours, with the
// messaging conventions, one message ID for both.
func TestSpanTree(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	base := gateway.Start(t, stepsuite.GatewayOptions{}).URL

	contracttest.Get(t, base+"/git/golang/go")
	want := "GET /git/{owner}/{repo}\n  HTTP GET\n  queue.Push\n  queue.WaitForReply\n"
	if got := tree(exporter.GetSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	request := oteltest.Find(t, exporter, "GET /git/{owner}/{repo}")
	if request.SpanKind != trace.SpanKindServer {
		t.Errorf("the request's span is %v, want server", request.SpanKind)
	}
	wantAttrs(t, request, map[string]any{
		"http.request.method": "GET", "http.response.status_code": int64(200), "url.path": "/git/golang/go", "repo": "golang/go",
	})
	call := oteltest.Find(t, exporter, "HTTP GET")
	if call.SpanKind != trace.SpanKindClient {
		t.Errorf("the call's span is %v, want client", call.SpanKind)
	}
	wantAttrs(t, call, map[string]any{"http.request.method": "GET", "http.response.status_code": int64(200), "server.address": "127.0.0.1"})
	if url, _ := oteltest.Attr(call, "url.full").(string); !strings.HasSuffix(url, "/stats/golang/go") {
		t.Errorf("HTTP GET: url.full = %q, want the contributors service's /stats/golang/go", url)
	}
	push := oteltest.Find(t, exporter, "queue.Push")
	if push.SpanKind != trace.SpanKindProducer {
		t.Errorf("queue.Push is %v, want producer", push.SpanKind)
	}
	wantAttrs(t, push, map[string]any{
		"messaging.system": "redis", "messaging.destination.name": "contributors:jobs", "messaging.operation.type": "send",
	})
	wait := oteltest.Find(t, exporter, "queue.WaitForReply")
	if id := oteltest.Attr(push, "messaging.message.id"); id == nil || id != oteltest.Attr(wait, "messaging.message.id") {
		t.Errorf("messaging.message.id: queue.Push %v, queue.WaitForReply %v; want the job's ID on both", id, oteltest.Attr(wait, "messaging.message.id"))
	}
	for _, span := range exporter.GetSpans() {
		if span.Status.Code == codes.Error {
			t.Errorf("span %q of a successful request has the status %s", span.Name, oteltest.Status(span))
		}
	}

	// A failed fetch queues nothing: the tree stops at the call, whose
	// status (and the request's) says so.
	exporter.Reset()
	contracttest.Get(t, base+"/git/broken/repo")
	want = "GET /git/{owner}/{repo}\n  HTTP GET\n"
	if got := tree(exporter.GetSpans()); got != want {
		t.Errorf("spans of a failed request:\n%s\nwant:\n%s", got, want)
	}
	for name, status := range map[string]int64{"HTTP GET": 502, "GET /git/{owner}/{repo}": 502} {
		span := oteltest.Find(t, exporter, name)
		if span.Status.Code != codes.Error || oteltest.Attr(span, "http.response.status_code") != status {
			t.Errorf("%s: status %s, status code %v; want Error and %d", name, oteltest.Status(span), oteltest.Attr(span, "http.response.status_code"), status)
		}
	}
}

// TestSpanOfTheWaitShowsTheTimeout: the span of the wait is where a 504
// for a silent cleaner shows: its status, and the error as an event.
func TestSpanOfTheWaitShowsTheTimeout(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	base := gateway.Start(t, stepsuite.GatewayOptions{ReplyTimeout: time.Second, NoCleaner: true}).URL

	status, _, body := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusGatewayTimeout || !strings.Contains(body.Error, "cleaner did not answer") {
		t.Errorf("status %d %q, want 504 naming the cleaner", status, body.Error)
	}
	wait := oteltest.Find(t, exporter, "queue.WaitForReply")
	if wait.Status.Code != codes.Error || !strings.Contains(wait.Status.Description, "no answer") || !oteltest.HasEvent(wait, "exception") {
		t.Errorf("queue.WaitForReply: status %s, events %+v; want Error naming the timeout, and an exception event", oteltest.Status(wait), wait.Events)
	}
	if span := oteltest.Find(t, exporter, "GET /git/{owner}/{repo}"); span.Status.Code != codes.Error || oteltest.Attr(span, "http.response.status_code") != int64(504) {
		t.Errorf("the request's span: status %s, status code %v; want Error and 504", oteltest.Status(span), oteltest.Attr(span, "http.response.status_code"))
	}
	if span := oteltest.Find(t, exporter, "queue.Push"); span.Status.Code == codes.Error {
		t.Error("queue.Push has the status Error, but the push succeeded")
	}
}

// TestTraceContextTravels: the contributors service gets a W3C traceparent
// naming otelhttp's client span as the parent, and the job's headers
// carry queue.Push's; X-Trace-Id names the request's trace.
func TestTraceContextTravels(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{})
	stub, cleaner, base := rig.Contributors, rig.Cleaner, rig.URL

	status, header, _ := contracttest.Get(t, base+"/git/golang/go")
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	root := oteltest.Find(t, exporter, "GET /git/{owner}/{repo}")
	call, push := oteltest.Find(t, exporter, "HTTP GET"), oteltest.Find(t, exporter, "queue.Push")
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
	if got, want := headers[0].Get("Traceparent"), traceparent(call); got != want {
		t.Errorf("the contributors service got traceparent %q, want otelhttp's client span's %q", got, want)
	}
	jobs := cleaner.Headers()
	if len(jobs) != 1 {
		t.Fatalf("the cleaner got %d jobs, want 1", len(jobs))
	}
	if got, want := jobs[0]["traceparent"], traceparent(push); got != want {
		t.Errorf("the job's traceparent %q, want queue.Push's %q", got, want)
	}
}

// TestRequestLogJoinsTheTrace: the request's log line carries the trace_id
// and span_id of its server span, and the link to its trace: main.go's
// handler, otelhttp's around the log, as it serves.
func TestRequestLogJoinsTheTrace(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	var log bytes.Buffer
	logger := slog.New(tracing.LogHandler(slog.NewTextHandler(&log, nil)))
	logged := stepsuite.Gateway{Handler: func(contributorsURL string, client *http.Client, queue *jobqueue.Queue, replyTimeout time.Duration) http.Handler {
		app := &app{contributorsURL: contributorsURL, http: client, queue: queue, replyTimeout: replyTimeout}
		return otelhttp.NewHandler(tracing.LogRequests(logger, "http://jaeger.example", app.routes()), "gateway", tracing.NotHealthz, tracing.PublicEndpoint)
	}}
	base := logged.Start(t, stepsuite.GatewayOptions{}).URL
	contracttest.Get(t, base+"/git/golang/go")

	root := oteltest.Find(t, exporter, "GET /git/{owner}/{repo}")
	id := root.SpanContext.TraceID().String()
	for _, want := range []string{"trace_id=" + id, "span_id=" + root.SpanContext.SpanID().String(), "trace=http://jaeger.example/trace/" + id} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the request's log line has no %s:\n%s", want, log.String())
		}
	}
}

// TestClientGivesUpFailsNoSpan: a client that gives up while the gateway
// waits for the cleaner is no outage: the request's span says 499, which
// otelhttp leaves unset (a 4xx is the client's), and queue.WaitForReply
// has an event that the client gave up, not the status Error.
func TestClientGivesUpFailsNoSpan(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	rig := gateway.Start(t, stepsuite.GatewayOptions{NoCleaner: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, rig.URL+"/git/golang/go", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %s before the client gave up", resp.Status)
	}
	stepsuite.WaitFor(t, "the request's span", func() bool {
		for _, span := range exporter.GetSpans() {
			if span.Name == "GET /git/{owner}/{repo}" {
				return true
			}
		}
		return false
	})
	request := oteltest.Find(t, exporter, "GET /git/{owner}/{repo}")
	if got := oteltest.Attr(request, "http.response.status_code"); got != int64(499) {
		t.Errorf("the request's span: http.response.status_code %v, want 499", got)
	}
	if !oteltest.HasEvent(oteltest.Find(t, exporter, "queue.WaitForReply"), "the client gave up") {
		t.Error("queue.WaitForReply has no event that the client gave up")
	}
	for _, span := range exporter.GetSpans() {
		if span.Status.Code == codes.Error {
			t.Errorf("span %q has the status %s, but nothing failed: the client gave up", span.Name, oteltest.Status(span))
		}
	}
}
