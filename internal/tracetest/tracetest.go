// Package tracetest helps the steps' unit tests assert the span tree a
// lesson promises, with OpenTracing's in-memory mocktracer.
package tracetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"
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
	byID := map[int]bool{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID] = true
	}
	children := map[int][]*mocktracer.MockSpan{}
	var roots []*mocktracer.MockSpan
	for _, s := range spans {
		if s.ParentID != 0 && byID[s.ParentID] {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	var b strings.Builder
	var draw func(s *mocktracer.MockSpan, depth int)
	draw = func(s *mocktracer.MockSpan, depth int) {
		orphan := ""
		if s.ParentID != 0 && !byID[s.ParentID] {
			orphan = " (orphan)"
		}
		fmt.Fprintf(&b, "%s%s%s\n", strings.Repeat("  ", depth), s.OperationName, orphan)
		kids := children[s.SpanContext.SpanID]
		sortByStart(kids)
		for _, kid := range kids {
			draw(kid, depth+1)
		}
	}
	sortByStart(roots)
	for _, root := range roots {
		draw(root, 0)
	}
	return b.String()
}

func sortByStart(spans []*mocktracer.MockSpan) {
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].StartTime.Before(spans[j].StartTime) })
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
