package traceview

import (
	"cmp"
	"slices"
	"unicode/utf8"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// row is one span in display order.
type row struct {
	span   jaeger.Span
	branch string // tree drawing before the span's name: "│  ├─ "
	below  string // tree drawing for lines under it (details, children)
	leaf   bool   // no children are drawn under it
	// Why a span with a parent is drawn at top level: its parent's ID is
	// "missing" from the trace, or they are "in a cycle" of references.
	parent, problem string
}

// rows orders the spans of trace depth-first, children in start-time
// order. Every span gets exactly one row: a span whose parent is not in the
// trace (not reported yet, or lost) is drawn at top level with a note, next
// to the roots, instead of disappearing.
func rows(trace jaeger.Trace) []row {
	spans := trace.Spans
	// Spans are identified by index: Jaeger can hold two spans with the same
	// ID (Zipkin-style shared client/server spans).
	byID := make(map[string]int, len(spans))
	for i, span := range spans {
		if _, dup := byID[span.SpanID]; !dup {
			byID[span.SpanID] = i
		}
	}
	children := make([][]int, len(spans))
	var top []int
	missing := make([]bool, len(spans))
	for i, span := range spans {
		parent := span.ParentID()
		p, found := byID[parent]
		switch {
		case parent == "":
			top = append(top, i)
		case !found:
			top = append(top, i)
			missing[i] = true
		case p != i:
			children[p] = append(children[p], i)
		}
		// A span that is its own parent is picked up below, with the
		// spans of reference cycles.
	}
	byStart := func(a, b int) int { return cmp.Compare(spans[a].StartTime, spans[b].StartTime) }
	slices.SortStableFunc(top, byStart)
	for _, c := range children {
		slices.SortStableFunc(c, byStart)
	}

	w := walker{spans: spans, children: children, seen: make([]bool, len(spans))}
	for _, i := range top {
		at := len(w.rows)
		w.visit(i, "", "")
		if missing[i] {
			w.rows[at].parent, w.rows[at].problem = spans[i].ParentID(), "missing"
		}
	}
	// Only spans in reference cycles are left: draw them too, since a broken
	// trace is exactly the one someone needs to see.
	var rest []int
	for i := range spans {
		if !w.seen[i] {
			rest = append(rest, i)
		}
	}
	slices.SortStableFunc(rest, byStart)
	for _, i := range rest {
		if !w.seen[i] {
			at := len(w.rows)
			w.visit(i, "", "")
			w.rows[at].parent, w.rows[at].problem = spans[i].ParentID(), "in a cycle"
		}
	}
	return w.rows
}

type walker struct {
	spans    []jaeger.Span
	children [][]int
	seen     []bool
	rows     []row
}

func (w *walker) visit(i int, branch, below string) {
	w.seen[i] = true
	var kids []int // only a cycle of references can lead back to a seen span
	for _, c := range w.children[i] {
		if !w.seen[c] {
			kids = append(kids, c)
		}
	}
	w.rows = append(w.rows, row{span: w.spans[i], branch: branch, below: below, leaf: len(kids) == 0})
	for k, c := range kids {
		if k == len(kids)-1 {
			w.visit(c, below+"└─ ", below+"   ")
		} else {
			w.visit(c, below+"├─ ", below+"│  ")
		}
	}
}

// OutlineRow is one span of a trace where Render draws it.
type OutlineRow struct {
	SpanID string
	Depth  int // 0 at top level
	// Why a span with a parent is at top level: its parent is "missing"
	// from the trace, or they are "in a cycle" of references; "" otherwise.
	Problem string
}

// Outline returns the spans of trace in the order, and at the depth, that
// Render draws them. The web viewer (internal/infra/jaeger/ui) must draw a trace
// the same way; its browser test compares the two.
func Outline(trace jaeger.Trace) []OutlineRow {
	var out []OutlineRow
	for _, r := range rows(trace) {
		out = append(out, OutlineRow{SpanID: r.span.SpanID, Depth: utf8.RuneCountInString(r.branch) / 3, Problem: r.problem})
	}
	return out
}
