package tracing

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"go.opentelemetry.io/otel/trace"
)

// FuzzTraceRequest: whatever trace headers a client sends, TraceRequest
// does not panic, the request gets a span, the span continues the
// client's trace only if its traceparent is a valid one (a malformed one
// starts a new trace), and the baggage that travels on stays within its
// bounds. Step 7's, in W3C's headers.
func FuzzTraceRequest(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "user=ada", "v")
	f.Add("garbage", "", "")
	f.Add("00-00000000000000000000000000000000-0000000000000000-00", "a=b,c=d,e", "%zz")
	f.Add("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "=", "x")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "big="+string(make([]byte, 300)), "")
	bridge, exporter := oteltest.Install(f)
	f.Fuzz(func(t *testing.T, traceparent, baggage, value string) {
		exporter.Reset()
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header["Traceparent"] = []string{traceparent}
		req.Header["Baggage"] = []string{baggage}
		for i := range 2 * maxBaggageItems {
			req.Header.Add("Baggage", fmt.Sprintf("item%d=%s", i, value))
		}
		items := 0
		TraceRequest(func(w http.ResponseWriter, r *http.Request) {
			opentracing.SpanFromContext(r.Context()).Context().ForeachBaggageItem(func(k, v string) bool {
				items++
				if len(k)+len(v) > maxBaggageItemSize {
					t.Errorf("baggage item %.40q of %d bytes went on", k, len(k)+len(v))
				}
				return true
			})
		})(httptest.NewRecorder(), req)
		if items > maxBaggageItems {
			t.Errorf("%d baggage items went on, at most %d may", items, maxBaggageItems)
		}

		span := oteltest.Find(t, exporter, "")
		if !span.SpanContext.IsValid() {
			t.Fatalf("the request's span context %v is not valid", span.SpanContext)
		}
		parent, err := bridge.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))
		if err != nil {
			if span.Parent.IsValid() {
				t.Errorf("traceparent %q (%v) is no trace to continue, yet the span has parent %v", traceparent, err, span.Parent.SpanID())
			}
			return
		}
		client := parent.(interface {
			TraceID() trace.TraceID
			SpanID() trace.SpanID
		})
		if span.SpanContext.TraceID() != client.TraceID() || span.Parent.SpanID() != client.SpanID() {
			t.Errorf("traceparent %q: span in trace %v under %v, want trace %v under %v",
				traceparent, span.SpanContext.TraceID(), span.Parent.SpanID(), client.TraceID(), client.SpanID())
		}
	})
}
