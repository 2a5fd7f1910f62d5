package tracetest

import "github.com/tracing-tutorial/tutorial/internal/jaeger"

// JaegerTree draws a trace read back from Jaeger the way Tree draws
// mocktracer spans, with each span's service:
//
//	gateway: GET /git/{owner}/{repo}
//	  gateway: fetchStats
//	    contributors: GET /stats/{owner}/{repo}
//
// A span that follows from its parent (a FOLLOWS_FROM reference: its
// parent started it and did not wait for it, a job on a queue) is marked
// "(follows from)". Spans whose parent is missing from the trace are drawn
// as roots, marked "(orphan)".
func JaegerTree(trace jaeger.Trace) string {
	nodes := make([]node, len(trace.Spans))
	for i, s := range trace.Spans {
		nodes[i] = node{id: s.SpanID, parent: s.ParentID(), label: trace.ServiceName(s) + ": " + s.OperationName, start: s.StartTime}
		if s.Parent().RefType == jaeger.FollowsFrom {
			nodes[i].label += " (follows from)"
		}
	}
	return draw(nodes)
}

// HasSpans returns a completeness test for jaeger.Client.WaitForTrace: the
// trace is whole once it has n spans.
func HasSpans(n int) func(jaeger.Trace) bool {
	return func(trace jaeger.Trace) bool { return len(trace.Spans) >= n }
}
