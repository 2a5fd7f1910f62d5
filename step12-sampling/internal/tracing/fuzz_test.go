package tracing

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// FuzzTraceRequest: whatever trace headers a client sends, otelhttp's
// handler and TraceRequest do not panic, the request gets a span, the span
// continues the client's trace only if its traceparent is a valid one (a
// malformed one starts a new trace), and the baggage that travels on stays
// within its bounds. Step 7's, in W3C's headers, on the native API.
func FuzzTraceRequest(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "user=ada", "v")
	f.Add("garbage", "", "")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "user=ada", "v") // not sampled
	f.Add("00-00000000000000000000000000000000-0000000000000000-00", "a=b,c=d,e", "%zz")
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "=", "x")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "big="+string(make([]byte, 300)), "")
	exporter := oteltest.InstallSDK(f)
	f.Fuzz(func(t *testing.T, traceparent, bag, value string) {
		exporter.Reset()
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header["Traceparent"] = []string{traceparent}
		req.Header["Baggage"] = []string{bag}
		for i := range 2 * maxBaggageItems {
			req.Header.Add("Baggage", fmt.Sprintf("item%d=%s", i, value))
		}
		items := 0
		otelhttp.NewHandler(TraceRequest(func(w http.ResponseWriter, r *http.Request) {
			for _, m := range baggage.FromContext(r.Context()).Members() {
				items++
				if len(m.Key())+len(m.Value()) > maxBaggageItemSize {
					t.Errorf("baggage item %.40q of %d bytes went on", m.Key(), len(m.Key())+len(m.Value()))
				}
			}
		}), "test").ServeHTTP(httptest.NewRecorder(), req)
		if items > maxBaggageItems {
			t.Errorf("%d baggage items went on, at most %d may", items, maxBaggageItems)
		}

		client := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(req.Header)))
		if client.IsValid() && !client.IsSampled() {
			// The client did not sample its trace: neither do we.
			if spans := exporter.GetSpans(); len(spans) != 0 {
				t.Errorf("traceparent %q is not sampled, yet %d spans were recorded", traceparent, len(spans))
			}
			return
		}
		span := oteltest.Find(t, exporter, "GET")
		if !span.SpanContext.IsValid() {
			t.Fatalf("the request's span context %v is not valid", span.SpanContext)
		}
		if !client.IsValid() {
			if span.Parent.IsValid() {
				t.Errorf("traceparent %q is no trace to continue, yet the span has parent %v", traceparent, span.Parent.SpanID())
			}
			return
		}
		if span.SpanContext.TraceID() != client.TraceID() || span.Parent.SpanID() != client.SpanID() {
			t.Errorf("traceparent %q: span in trace %v under %v, want trace %v under %v",
				traceparent, span.SpanContext.TraceID(), span.Parent.SpanID(), client.TraceID(), client.SpanID())
		}
	})
}
