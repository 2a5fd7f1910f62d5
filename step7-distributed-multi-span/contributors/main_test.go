package main

import (
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
	"github.com/uber/jaeger-client-go"
)

func init() {
	// The stand-in answers 202 at once; no need to wait as long as for GitHub.
	statsRetryDelays = []time.Duration{time.Millisecond, time.Millisecond}
}

var contributors = stepsuite.Contributors{Handler: func(githubURL, token string) http.Handler {
	app := &app{logger: slog.Default(), github: newGitHubClient(githubURL, token), githubTimeout: time.Second}
	return app.routes()
}}

// TestContributors: what every distributed step's contributors service
// keeps (internal/lesson).
func TestContributors(t *testing.T) { stepsuite.TestContributors(t, contributors) }

// The tests below install a global tracer: they must not run in parallel.

// get sends req and fails the test unless the answer is 200.
func get(t *testing.T, req *http.Request) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// Read to the end: the request's span finishes before the body does.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d (%v), want 200", req.URL, resp.StatusCode, err)
	}
}

// TestIncomingTraceContext: step 7's lesson on this side. The request's
// span continues the trace whose context came in the request's headers.
func TestIncomingTraceContext(t *testing.T) {
	tracer := tracetest.Install(t)
	_, base := contributors.Start(t, "")

	fetch := tracer.StartSpan("fetchStats") // the gateway's client span
	req, _ := http.NewRequest("GET", base+"/stats/golang/go", nil)
	if err := tracer.Inject(fetch.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header)); err != nil {
		t.Fatal(err)
	}
	get(t, req)
	fetch.Finish()

	want := "fetchStats\n  GET /stats/{owner}/{repo}\n    fetchContributorStats\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	server := tracetest.Find(t, tracer, "GET /stats/{owner}/{repo}")
	tracetest.WantChildOf(t, server, fetch.Context())
	if kind := server.Tag("span.kind"); kind != ext.SpanKindRPCServerEnum {
		t.Errorf("the request's span.kind = %v, want server", kind)
	}
	if kind := tracetest.Find(t, tracer, "fetchContributorStats").Tag("span.kind"); kind != ext.SpanKindRPCClientEnum {
		t.Errorf("fetchContributorStats' span.kind = %v, want client", kind)
	}
}

// TestMalformedTraceHeader: a broken trace context must not break the
// request; the request starts a trace of its own.
func TestMalformedTraceHeader(t *testing.T) {
	tracer := tracetest.Install(t)
	_, base := contributors.Start(t, "")
	req, _ := http.NewRequest("GET", base+"/stats/golang/go", nil)
	req.Header.Set("Mockpfx-Ids-Traceid", "not a number")
	req.Header.Set("Mockpfx-Ids-Spanid", "42")
	get(t, req)
	if span := tracetest.Find(t, tracer, "GET /stats/{owner}/{repo}"); span.ParentID != 0 {
		t.Errorf("the request's span has parent %d, want a new trace", span.ParentID)
	}

	// The same with Jaeger's own header and tracer.
	reporter := jaeger.NewInMemoryReporter()
	jaegerTracer, closer := jaeger.NewTracer("contributors", jaeger.NewConstSampler(true), reporter)
	defer closer.Close()
	opentracing.SetGlobalTracer(jaegerTracer)
	req, _ = http.NewRequest("GET", base+"/stats/golang/go", nil)
	req.Header.Set("Uber-Trace-Id", "not:a:trace:id")
	get(t, req)
	var roots int
	for _, s := range reporter.GetSpans() {
		span := s.(*jaeger.Span)
		if span.OperationName() == "GET /stats/{owner}/{repo}" && span.SpanContext().ParentID() == 0 && span.SpanContext().IsValid() {
			roots++
		}
	}
	if roots != 1 {
		t.Errorf("spans %v, want the request's span as a new root", reporter.GetSpans())
	}
}

// TestNoTraceHeadersToGitHub: the trace stops at our edge. GitHub gets
// neither the trace context nor its baggage, whichever tracer is used.
func TestNoTraceHeadersToGitHub(t *testing.T) {
	mock := tracetest.Install(t)
	reporter := jaeger.NewInMemoryReporter()
	jaegerTracer, closer := jaeger.NewTracer("gateway", jaeger.NewConstSampler(true), reporter)
	defer closer.Close()

	for name, tracer := range map[string]opentracing.Tracer{"mocktracer": mock, "jaeger": jaegerTracer} {
		opentracing.SetGlobalTracer(tracer)
		github, base := contributors.Start(t, "secret")
		fetch := tracer.StartSpan("fetchStats")
		fetch.SetBaggageItem("user", "alice")
		req, _ := http.NewRequest("GET", base+"/stats/golang/go", nil)
		tracer.Inject(fetch.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))
		if len(req.Header) < 2 {
			t.Fatalf("%s: injected %v, want the context and its baggage", name, req.Header)
		}
		get(t, req)
		fetch.Finish()

		requests := github.Requests()
		if len(requests) == 0 {
			t.Fatalf("%s: GitHub got no request", name)
		}
		for _, h := range requests {
			if key := tracetest.TraceHeader(h); key != "" {
				t.Errorf("%s: GitHub got the trace header %s: %q", name, key, h.Get(key))
			}
		}
	}
}
