package traceview

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// Node is a span as Tree draws it.
type Node struct {
	ID, Parent string // Parent "" for a root
	Label      string
	Start      int64 // orders siblings
}

// Tree draws nodes as an indented tree of labels, one per line, children
// in start order, so that a check (make check, a test) can show and
// compare a trace's whole shape. A node whose parent is not among nodes is
// drawn as a root, marked "(orphan)": a broken propagation shows.
func Tree(nodes []Node) string {
	present := map[string]bool{}
	for _, n := range nodes {
		present[n.ID] = true
	}
	children := map[string][]Node{}
	var roots []Node
	for _, n := range nodes {
		if n.Parent != "" && present[n.Parent] {
			children[n.Parent] = append(children[n.Parent], n)
		} else {
			roots = append(roots, n)
		}
	}
	byStart := func(nodes []Node) {
		sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Start < nodes[j].Start })
	}
	var b strings.Builder
	var draw func(n Node, depth int)
	draw = func(n Node, depth int) {
		orphan := ""
		if n.Parent != "" && !present[n.Parent] {
			orphan = " (orphan)"
		}
		fmt.Fprintf(&b, "%s%s%s\n", strings.Repeat("  ", depth), n.Label, orphan)
		kids := children[n.ID]
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

// JaegerTree draws a trace read back from Jaeger as Tree does, with each
// span's service:
//
//	gateway: GET /git/{owner}/{repo}
//	  gateway: fetchStats
//	    contributors: GET /stats/{owner}/{repo}
//
// A span that follows from its parent (a FOLLOWS_FROM reference: its
// parent started it and did not wait for it, a job on a queue) is marked
// "(follows from)".
func JaegerTree(trace jaeger.Trace) string {
	nodes := make([]Node, len(trace.Spans))
	for i, s := range trace.Spans {
		nodes[i] = Node{ID: s.SpanID, Parent: s.ParentID(), Label: trace.ServiceName(s) + ": " + s.OperationName, Start: s.StartTime}
		if s.Parent().RefType == jaeger.FollowsFrom {
			nodes[i].Label += " (follows from)"
		}
	}
	return Tree(nodes)
}
