package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/uber/jaeger-client-go"
)

// FuzzCleanJob: whatever a job's headers and body hold, cleanJob does not
// panic; it answers JSON or an error, and an error marks its span; its
// span follows from the producer's only if the headers carry a valid
// trace context (a malformed one starts a new trace).
func FuzzCleanJob(f *testing.F) {
	f.Add("4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1", "uberctx-k", "v",
		[]byte(`{"repo":"a/b","stats":[{"author":{"login":"ada"},"weeks":[{"c":3}]},{"author":null,"weeks":[{"c":1}]}]}`))
	f.Add("garbage", "", "", []byte(`{"repo":"a/b","stats":null}`))
	f.Add("1:2:0:1", "uber-trace-id", "x", []byte(`not JSON`))
	f.Add("", "k", "v", []byte(`{"stats":{"not":"a list"}}`))
	f.Add("0:0:0:1", "UBER-TRACE-ID", "1:2:0:1", []byte(`{"stats":[null,{"weeks":[null]}]}`))
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("fuzz", jaeger.NewConstSampler(true), reporter)
	defer closer.Close()
	old := opentracing.GlobalTracer()
	opentracing.SetGlobalTracer(tracer)
	f.Cleanup(func() { opentracing.SetGlobalTracer(old) })

	f.Fuzz(func(t *testing.T, traceHeader, key, value string, body []byte) {
		reporter.Reset()
		msg := jobqueue.Message{Headers: map[string]string{"uber-trace-id": traceHeader, key: value}, Body: body}
		answer, err := handle(context.Background(), discard, msg)
		if err == nil && !json.Valid(answer) {
			t.Errorf("answer %q is not JSON", answer)
		}
		// Two spellings of the trace header: which one Extract reads
		// depends on the map's order, so neither answer is wrong.
		if strings.EqualFold(key, "uber-trace-id") && key != "uber-trace-id" {
			return
		}
		// A producer that did not sample its trace gets no span recorded
		// for it downstream either: nothing to look at.
		if sc, ok := extracted(tracer, msg.Headers); ok && !sc.IsSampled() {
			return
		}
		var span *jaeger.Span
		for _, s := range reporter.GetSpans() {
			if s := s.(*jaeger.Span); s.OperationName() == "cleanJob" {
				span = s
			}
		}
		if span == nil {
			t.Fatal("no cleanJob span")
		}
		if err != nil && span.Tags()["error"] != true {
			t.Errorf("cleanJob failed (%v) without error=true on its span", err)
		}
		parent, extractErr := tracer.Extract(opentracing.TextMap, opentracing.TextMapCarrier(msg.Headers))
		producer, ok := parent.(jaeger.SpanContext)
		got := span.SpanContext()
		if extractErr != nil || !ok || !producer.IsValid() {
			if got.ParentID() != 0 {
				t.Errorf("headers %q carry no trace, yet cleanJob has parent %v", msg.Headers, got.ParentID())
			}
		} else if got.TraceID() != producer.TraceID() || got.ParentID() != producer.SpanID() {
			t.Errorf("cleanJob in trace %v under %v, want trace %v under %v", got.TraceID(), got.ParentID(), producer.TraceID(), producer.SpanID())
		}
	})
}

// extracted is the valid span context in headers, if there is one.
func extracted(tracer opentracing.Tracer, headers map[string]string) (jaeger.SpanContext, bool) {
	parent, err := tracer.Extract(opentracing.TextMap, opentracing.TextMapCarrier(headers))
	sc, ok := parent.(jaeger.SpanContext)
	return sc, err == nil && ok && sc.IsValid()
}
