package tracetest

import (
	"net/http"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

func TestTree(t *testing.T) {
	tracer := mocktracer.New()
	start := time.Now()
	at := func(ms int) opentracing.StartTime {
		return opentracing.StartTime(start.Add(time.Duration(ms) * time.Millisecond))
	}
	root := tracer.StartSpan("request", at(0))
	// Children finish out of order; they are drawn in start order.
	second := tracer.StartSpan("second", opentracing.ChildOf(root.Context()), at(2))
	first := tracer.StartSpan("first", opentracing.ChildOf(root.Context()), at(1))
	inner := tracer.StartSpan("inner", opentracing.ChildOf(first.Context()), at(1))
	lost := tracer.StartSpan("lost parent", at(3))
	orphan := tracer.StartSpan("orphan", opentracing.ChildOf(lost.Context()), at(4))
	for _, s := range []opentracing.Span{second, inner, first, orphan, root} {
		s.Finish()
	}
	want := "request\n  first\n    inner\n  second\norphan (orphan)\n"
	if got := Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("Tree:\n%s\nwant:\n%s", got, want)
	}
	WantChildOf(t, Find(t, tracer, "inner"), first.Context())
}

func TestJaegerTree(t *testing.T) {
	child := func(id, parent string, start int64, process, operation string) jaeger.Span {
		s := jaeger.Span{SpanID: id, StartTime: start, ProcessID: process, OperationName: operation}
		if parent != "" {
			s.References = []jaeger.Reference{{RefType: "CHILD_OF", SpanID: parent}}
		}
		return s
	}
	follows := func(s jaeger.Span) jaeger.Span {
		s.References[0].RefType = "FOLLOWS_FROM"
		return s
	}
	trace := jaeger.Trace{
		Processes: map[string]jaeger.Process{"p1": {ServiceName: "gateway"}, "p2": {ServiceName: "contributors"}},
		Spans: []jaeger.Span{
			child("c", "a", 30, "p1", "queue.Push"),
			child("b", "a", 20, "p1", "fetchStats"),
			child("d", "b", 25, "p2", "GET /stats/{owner}/{repo}"),
			child("e", "gone", 40, "p2", "cleanJob"),
			child("a", "", 10, "p1", "GET /git/{owner}/{repo}"),
			follows(child("f", "c", 35, "p2", "cleanJob")),
		},
	}
	want := `gateway: GET /git/{owner}/{repo}
  gateway: fetchStats
    contributors: GET /stats/{owner}/{repo}
  gateway: queue.Push
    contributors: cleanJob (follows from)
contributors: cleanJob (orphan)
`
	if got := JaegerTree(trace); got != want {
		t.Errorf("JaegerTree:\n%s\nwant:\n%s", got, want)
	}
}

func TestTraceHeader(t *testing.T) {
	for _, c := range []struct {
		header http.Header
		want   string
	}{
		{http.Header{"Accept": {"*/*"}}, ""},
		{http.Header{"Accept": {"*/*"}, "Uber-Trace-Id": {"1:2:0:1"}}, "Uber-Trace-Id"},
		{http.Header{"Uberctx-User": {"alice"}}, "Uberctx-User"},
		{http.Header{"Mockpfx-Ids-Traceid": {"1"}}, "Mockpfx-Ids-Traceid"},
		{http.Header{"Traceparent": {"00-…"}}, "Traceparent"},
	} {
		if got := TraceHeader(c.header); got != c.want {
			t.Errorf("TraceHeader(%v) = %q, want %q", c.header, got, c.want)
		}
	}
}
