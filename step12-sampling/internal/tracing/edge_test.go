package tracing

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
)

// serve sends handler (as main.go wraps it, in otelhttp's) a request with
// the given traceparent ("" for none) and returns its answer's X-Trace-Id.
func serve(handler http.Handler, traceparent string) string {
	req := httptest.NewRequest(http.MethodGet, "/git/golang/go", nil)
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	answer := httptest.NewRecorder()
	handler.ServeHTTP(answer, req)
	return answer.Header().Get("X-Trace-Id")
}

func nothing(w http.ResponseWriter, r *http.Request) {}

// TestEdgeStartsANewTrace: the trust boundary, on the native API. Whatever
// trace context a request to the edge (the gateway, with PublicEndpoint)
// carries, otelhttp's span starts a new trace, recorded even if the
// caller's flags say "not sampled", linked to the caller's span, and
// X-Trace-Id names it; the caller's trace ID is the attribute
// caller.trace_id.
func TestEdgeStartsANewTrace(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	edge := otelhttp.NewHandler(TraceEdgeRequest(nothing), "gateway", PublicEndpoint)
	const caller = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e"
	for _, tc := range []struct{ header, callerTag string }{
		{"00-" + caller + "-5ca1ab1e5ca1ab1e-01", caller}, // someone else's trace
		{"00-" + caller + "-5ca1ab1e5ca1ab1e-00", caller}, // not sampled
		{"nonsense", ""},
		{"", ""},
	} {
		exporter.Reset()
		traceID := serve(edge, tc.header)
		spans := exporter.GetSpans()
		if len(spans) != 1 {
			t.Errorf("traceparent %q: %d spans recorded, want the request's", tc.header, len(spans))
			continue
		}
		span := spans[0]
		if span.Parent.IsValid() || span.SpanContext.TraceID().String() == caller || traceID != span.SpanContext.TraceID().String() {
			t.Errorf("traceparent %q: span in trace %s under %v, X-Trace-Id %q; want a new trace, named", tc.header, span.SpanContext.TraceID(), span.Parent.SpanID(), traceID)
		}
		if got, _ := oteltest.Attr(span, "caller.trace_id").(string); got != tc.callerTag {
			t.Errorf("traceparent %q: caller.trace_id = %q, want %q", tc.header, got, tc.callerTag)
		}
		var linked []string
		for _, link := range span.Links {
			linked = append(linked, link.SpanContext.TraceID().String())
		}
		if want := []string{tc.callerTag}; tc.callerTag != "" && !slices.Equal(linked, want) || tc.callerTag == "" && len(linked) > 0 {
			t.Errorf("traceparent %q: links to traces %q, want one to the caller's", tc.header, linked)
		}
	}
}

// TestNoLinkToATraceNotRecorded: behind the edge, a request whose caller's
// trace is not sampled is not recorded, and gets no X-Trace-Id (so no
// trace link in the log): it would lead nowhere.
func TestNoLinkToATraceNotRecorded(t *testing.T) {
	oteltest.InstallSDK(t)
	inside := otelhttp.NewHandler(TraceRequest(nothing), "contributors")
	if got := serve(inside, "00-5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e-5ca1ab1e5ca1ab1e-00"); got != "" {
		t.Errorf("a trace not sampled: X-Trace-Id %q, want none", got)
	}
	if got := serve(inside, "00-5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e-5ca1ab1e5ca1ab1e-01"); got != "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e" {
		t.Errorf("the caller's trace: X-Trace-Id %q, want the caller's", got)
	}
}
