package tracing

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

// recordingTracer makes a Jaeger tracer with sampler the global one until
// the test ends (fuzz_test.go's useTracer), and returns what it reports.
func recordingTracer(t *testing.T, sampler jaeger.Sampler) *jaeger.InMemoryReporter {
	reporter := jaeger.NewInMemoryReporter()
	useTracer(t, sampler, reporter)
	return reporter
}

// serve sends TraceEdgeRequest or TraceRequest a request with the given
// uber-trace-id ("" for none) and returns its answer's X-Trace-Id.
func serve(trace func(http.HandlerFunc) http.HandlerFunc, uberTraceID string) string {
	req := httptest.NewRequest(http.MethodGet, "/git/golang/go", nil)
	if uberTraceID != "" {
		req.Header.Set("Uber-Trace-Id", uberTraceID)
	}
	answer := httptest.NewRecorder()
	trace(func(w http.ResponseWriter, r *http.Request) {})(answer, req)
	return answer.Header().Get("X-Trace-Id")
}

// TestEdgeStartsANewTrace: the trust boundary. Whatever trace context a
// request to the edge (the gateway) carries, its span starts a new trace,
// recorded even if the caller's flags say "not sampled", and X-Trace-Id
// names it; the caller's trace ID is the tag caller.trace_id.
func TestEdgeStartsANewTrace(t *testing.T) {
	reporter := recordingTracer(t, jaeger.NewConstSampler(true))
	const caller = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"
	for _, tc := range []struct{ header, callerTag string }{
		{caller + ":5ca1ab1e5ca1ab1e:0:1", caller}, // someone else's trace
		{caller + ":5ca1ab1e5ca1ab1e:0:0", caller}, // not sampled
		{"nonsense", ""},
		{"", ""},
	} {
		reporter.Reset()
		traceID := serve(TraceEdgeRequest, tc.header)
		spans := reporter.GetSpans()
		if len(spans) != 1 {
			t.Errorf("uber-trace-id %q: %d spans recorded, want the request's", tc.header, len(spans))
			continue
		}
		span := spans[0].(*jaeger.Span)
		sc := span.SpanContext()
		if sc.ParentID() != 0 || sc.TraceID().String() == caller || traceID != sc.TraceID().String() {
			t.Errorf("uber-trace-id %q: span in trace %s under %v, X-Trace-Id %q; want a new trace, named", tc.header, sc.TraceID(), sc.ParentID(), traceID)
		}
		if got, _ := span.Tags()["caller.trace_id"].(string); got != tc.callerTag {
			t.Errorf("uber-trace-id %q: caller.trace_id = %q, want %q", tc.header, got, tc.callerTag)
		}
	}
}

// TestNoLinkToATraceNotRecorded: a request whose trace is not recorded (our
// sampler says no, or, behind the edge, the caller's trace is not sampled)
// gets no X-Trace-Id, and so no trace link in the log: it would lead
// nowhere.
func TestNoLinkToATraceNotRecorded(t *testing.T) {
	recordingTracer(t, jaeger.NewConstSampler(false))
	if got := serve(TraceEdgeRequest, ""); got != "" {
		t.Errorf("the edge, sampler off: X-Trace-Id %q, want none", got)
	}
	recordingTracer(t, jaeger.NewConstSampler(true))
	if got := serve(TraceRequest, "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e:5ca1ab1e5ca1ab1e:0:0"); got != "" {
		t.Errorf("behind the edge, a trace not sampled: X-Trace-Id %q, want none", got)
	}
	if got := serve(TraceRequest, "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e:5ca1ab1e5ca1ab1e:0:1"); got != "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e" {
		t.Errorf("behind the edge, the caller's trace: X-Trace-Id %q, want the caller's", got)
	}
}

// TestEdgeTakesNoBaggage: the caller's baggage (uberctx-* headers) is
// part of its untrusted context: the edge's span carries none of it on.
func TestEdgeTakesNoBaggage(t *testing.T) {
	recordingTracer(t, jaeger.NewConstSampler(true))
	req := httptest.NewRequest(http.MethodGet, "/git/golang/go", nil)
	req.Header.Set("Uber-Trace-Id", "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e:5ca1ab1e5ca1ab1e:0:1")
	req.Header.Set("Uberctx-User", "admin")
	var items []string
	TraceEdgeRequest(func(w http.ResponseWriter, r *http.Request) {
		opentracing.SpanFromContext(r.Context()).Context().ForeachBaggageItem(func(k, v string) bool {
			items = append(items, k+"="+v)
			return true
		})
	})(httptest.NewRecorder(), req)
	if len(items) > 0 {
		t.Errorf("the edge's span carries the caller's baggage %q, want none", items)
	}
}
