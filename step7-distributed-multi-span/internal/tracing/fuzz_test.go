package tracing

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/uber/jaeger-client-go"
)

// useTracer makes a Jaeger tracer with sampler and reporter the global one
// until the test ends.
func useTracer(tb testing.TB, sampler jaeger.Sampler, reporter jaeger.Reporter) opentracing.Tracer {
	tracer, closer := jaeger.NewTracer("test", sampler, reporter)
	old := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	tb.Cleanup(func() {
		opentracing.SetGlobalTracer(old)
		closer.Close()
	})
	return tracer
}

// FuzzTraceRequest: whatever trace headers a client sends, TraceRequest
// does not panic, the request gets a span and its trace ID, the span
// continues the client's trace only if the client's uber-trace-id is a
// valid one (a malformed one starts a new trace).
func FuzzTraceRequest(f *testing.F) {
	f.Add("4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1", "Uberctx-User", "ada", "k=v")
	f.Add("garbage", "uberctx-", "", "")
	f.Add("0:0:0:0", "UBERCTX-X", "%zz", "a=b,c=d,e")
	f.Add("1:2:3:4:5", "Jaeger-Debug-Id", "x", "=")
	f.Add("ffffffffffffffffffffffffffffffffff:1:0:1", "uberctx-big", string(make([]byte, 300)), "")
	tracer := useTracer(f, jaeger.NewConstSampler(true), jaeger.NewNullReporter())
	f.Fuzz(func(t *testing.T, traceHeader, name, value, debugBaggage string) {
		req := httptest.NewRequest(http.MethodGet, "/x", nil)
		req.Header["Uber-Trace-Id"] = []string{traceHeader}
		req.Header[name] = []string{value}
		req.Header["Jaeger-Baggage"] = []string{debugBaggage}
		var got jaeger.SpanContext
		TraceRequest(func(w http.ResponseWriter, r *http.Request) {
			got = opentracing.SpanFromContext(r.Context()).Context().(jaeger.SpanContext)
		})(httptest.NewRecorder(), req)

		if !got.IsValid() {
			t.Fatalf("the request's span context %v is not valid", got)
		}
		parent, err := tracer.Extract(opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))
		client, ok := parent.(jaeger.SpanContext)
		if err != nil || !ok || !client.IsValid() {
			if got.ParentID() != 0 {
				t.Errorf("uber-trace-id %q (%v) is no trace to continue, yet the span has parent %v", traceHeader, err, got.ParentID())
			}
		} else if got.TraceID() != client.TraceID() || got.ParentID() != client.SpanID() {
			t.Errorf("uber-trace-id %q: span in trace %v under %v, want trace %v under %v",
				traceHeader, got.TraceID(), got.ParentID(), client.TraceID(), client.SpanID())
		}
	})
}
