package tracetest

import (
	"net/http"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
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
