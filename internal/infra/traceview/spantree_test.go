package traceview

import (
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

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
