// Package traceview draws a trace from Jaeger as a waterfall in a terminal:
// one line per span, indented under its parent, with a bar that shows when
// the span ran. It is cmd/trace's, for terminals and meetup projectors; its
// plain-text output is also what the READMEs show. In a browser, the
// tutorial's trace viewer (internal/infra/jaeger/ui) draws the same reading, as
// Outline gives it.
//
// Text is measured in runes: every character it draws (box drawing, █, …,
// µ) is one terminal column wide, and so are the tutorial's span names.
package traceview
