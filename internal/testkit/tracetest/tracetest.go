// Package tracetest helps the steps' unit tests assert the span tree a
// lesson promises, with OpenTracing's in-memory mocktracer.
package tracetest

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
)

// Install makes a fresh mocktracer the global tracer for the rest of the
// test and puts the no-op tracer back afterwards. Tests that install one
// must not run in parallel with each other.
func Install(t testing.TB) *mocktracer.MockTracer {
	tracer := mocktracer.New()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(opentracing.NoopTracer{}) })
	return tracer
}

// Tree draws finished spans as an indented tree of operation names, one per
// line, children in start order, so a test can compare the whole shape:
//
//	GET /git/{owner}/{repo}
//	  fetch from GitHub
//	  count commits
//
// A span whose parent is not among spans is drawn as a root, marked
// "(orphan)": a broken propagation shows in the diff.
func Tree(spans []*mocktracer.MockSpan) string {
	nodes := make([]traceview.Node, len(spans))
	for i, s := range spans {
		nodes[i] = traceview.Node{ID: strconv.Itoa(s.SpanContext.SpanID), Label: s.OperationName, Start: s.StartTime.UnixNano()}
		if s.ParentID != 0 {
			nodes[i].Parent = strconv.Itoa(s.ParentID)
		}
	}
	return traceview.Tree(nodes)
}

// WantChildOf checks that span continues the trace of the span whose
// context parent is, as its child: the context reached it across a
// process's edge (in HTTP headers, inside a job).
func WantChildOf(t testing.TB, span *mocktracer.MockSpan, parent opentracing.SpanContext) {
	t.Helper()
	want, ok := parent.(mocktracer.MockSpanContext)
	if !ok {
		t.Fatalf("parent context %T is not mocktracer's", parent)
	}
	if span.SpanContext.TraceID != want.TraceID || span.ParentID != want.SpanID {
		t.Errorf("span %q is in trace %d under span %d, want trace %d under span %d",
			span.OperationName, span.SpanContext.TraceID, span.ParentID, want.TraceID, want.SpanID)
	}
}

// Find returns the finished span named operation, failing the test unless
// there is exactly one.
func Find(t testing.TB, tracer *mocktracer.MockTracer, operation string) *mocktracer.MockSpan {
	t.Helper()
	var found []*mocktracer.MockSpan
	for _, s := range tracer.FinishedSpans() {
		if s.OperationName == operation {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one span %q, got %d in:\n%s", operation, len(found), Tree(tracer.FinishedSpans()))
	}
	return found[0]
}

// WantTags checks that span has each tag of want, with its value and type
// (mocktracer keeps a tag as it was set: uint16 for http.status_code).
func WantTags(t testing.TB, span *mocktracer.MockSpan, want map[string]any) {
	t.Helper()
	for _, key := range sortedKeys(want) {
		if got := span.Tag(key); got != want[key] {
			t.Errorf("span %q: tag %s = %v (%T), want %v (%T)", span.OperationName, key, got, got, want[key], want[key])
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TraceHeader returns the first header of h that carries a trace context
// or baggage, in Jaeger's headers, mocktracer's or W3C's; "" if none.
func TraceHeader(h http.Header) string {
	for _, key := range slices.Sorted(maps.Keys(h)) {
		for _, prefix := range []string{"Uber-", "Uberctx-", "Mockpfx-", "Traceparent"} {
			if strings.HasPrefix(key, prefix) {
				return key
			}
		}
	}
	return ""
}
