package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// FuzzCleanJob: whatever a job's headers and body hold, cleanJob does not
// panic; it answers JSON or an error, and an error marks its span; its
// span is the producer's child only if the headers carry a valid trace
// context (a malformed one starts a new trace). Step 7's, on the SDK.
func FuzzCleanJob(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "baggage", "k=v",
		[]byte(`{"repo":"a/b","stats":[{"author":{"login":"ada"},"weeks":[{"c":3}]},{"author":null,"weeks":[{"c":1}]}]}`))
	f.Add("garbage", "", "", []byte(`{"repo":"a/b","stats":null}`))
	f.Add("00-1-2-01", "traceparent", "x", []byte(`not JSON`))
	f.Add("", "k", "v", []byte(`{"stats":{"not":"a list"}}`))
	f.Add("00-00000000000000000000000000000000-0000000000000000-01", "TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		[]byte(`{"stats":[null,{"weeks":[null]}]}`))
	exporter := oteltest.InstallSDK(f)

	f.Fuzz(func(t *testing.T, traceHeader, key, value string, body []byte) {
		exporter.Reset()
		msg := jobqueue.Message{Headers: map[string]string{"traceparent": traceHeader, key: value}, Body: body}
		answer, err := handle(context.Background(), discard, msg)
		if err == nil && !json.Valid(answer) {
			t.Errorf("answer %q is not JSON", answer)
		}
		// Two spellings of the trace header: which one Extract reads
		// depends on the map's order, so neither answer is wrong.
		if strings.EqualFold(key, "traceparent") && key != "traceparent" {
			return
		}
		// A producer that did not sample its trace gets no span recorded
		// for it downstream either: nothing to look at.
		sent := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier(msg.Headers)))
		if sent.IsValid() && !sent.IsSampled() {
			return
		}
		span := oteltest.Find(t, exporter, "cleanJob")
		if err != nil && span.Status.Code != codes.Error {
			t.Errorf("cleanJob failed (%v) without the status ERROR on its span", err)
		}
		if !sent.IsValid() {
			if span.Parent.IsValid() {
				t.Errorf("headers %q carry no trace, yet cleanJob has parent %v", msg.Headers, span.Parent.SpanID())
			}
			return
		}
		if span.SpanContext.TraceID() != sent.TraceID() || span.Parent.SpanID() != sent.SpanID() {
			t.Errorf("cleanJob in trace %v under %v, want trace %v under %v",
				span.SpanContext.TraceID(), span.Parent.SpanID(), sent.TraceID(), sent.SpanID())
		}
	})
}
