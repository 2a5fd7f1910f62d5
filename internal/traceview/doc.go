// Package traceview draws a trace from Jaeger as a waterfall in a terminal:
// one line per span, indented under its parent, with a bar that shows when
// the span ran. The tutorial's Jaeger serves its query API but no real web
// UI, so this is how readers (and meetup projectors) look at traces; its
// plain-text output is also what the READMEs show.
//
// Text is measured in runes: every character it draws (box drawing, █, …,
// µ) is one terminal column wide, and so are the tutorial's span names.
package traceview
