package tracetest

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/jaeger"
)

// JaegerTree draws a trace read back from Jaeger the way Tree draws
// mocktracer spans, with each span's service:
//
//	gateway: GET /git/{owner}/{repo}
//	  gateway: fetchStats
//	    contributors: GET /stats/{owner}/{repo}
//
// Spans whose parent is missing from the trace are drawn as roots, marked
// "(orphan)".
func JaegerTree(trace jaeger.Trace) string {
	present := map[string]bool{}
	for _, s := range trace.Spans {
		present[s.SpanID] = true
	}
	children := map[string][]jaeger.Span{}
	var roots []jaeger.Span
	for _, s := range trace.Spans {
		if parent := s.ParentID(); parent != "" && present[parent] {
			children[parent] = append(children[parent], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(spans []jaeger.Span) {
		sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartTime < spans[j].StartTime })
	}
	var b strings.Builder
	var draw func(s jaeger.Span, depth int)
	draw = func(s jaeger.Span, depth int) {
		orphan := ""
		if s.ParentID() != "" && !present[s.ParentID()] {
			orphan = " (orphan)"
		}
		fmt.Fprintf(&b, "%s%s: %s%s\n", strings.Repeat("  ", depth), trace.ServiceName(s), s.OperationName, orphan)
		kids := children[s.SpanID]
		byStart(kids)
		for _, kid := range kids {
			draw(kid, depth+1)
		}
	}
	byStart(roots)
	for _, root := range roots {
		draw(root, 0)
	}
	return b.String()
}

// HasSpans returns a completeness test for jaeger.Client.WaitForTrace: the
// trace is whole once it has n spans.
func HasSpans(n int) func(jaeger.Trace) bool {
	return func(trace jaeger.Trace) bool { return len(trace.Spans) >= n }
}
