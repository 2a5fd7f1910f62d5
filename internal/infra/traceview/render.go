package traceview

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// DefaultWidth is the width Render uses when Options.Width is not set.
const DefaultWidth = 100

// Options says how Render draws a trace.
type Options struct {
	Width   int  // columns no line may exceed; 0 means DefaultWidth
	Color   bool // ANSI colours: one per service, red for errors
	Details bool // each span's tags and logs under it
}

const (
	gap       = "  " // between columns
	errorNote = "ERROR"
	red       = "1;31"
	bold      = "1"
)

// Colours for services; red is left out, it means errors.
var palette = []string{"36", "33", "32", "35", "34", "96", "93", "92", "95", "94"}

// Render draws trace as a waterfall: a header, then one line per span,
// depth-first in start-time order and indented under its parent, with the
// span's start (from the trace's start), its duration and a bar placed on a
// time axis that spans the whole trace.
func Render(w io.Writer, trace jaeger.Trace, opts Options) error {
	if opts.Width <= 0 {
		opts.Width = DefaultWidth
	}
	v := newView(trace, opts)
	lines := []line{v.header(), v.axis()}
	for _, r := range v.rows {
		lines = append(lines, v.spanLine(r))
		if opts.Details {
			lines = append(lines, v.details(r)...)
		}
	}
	var errs []error
	for _, l := range lines {
		errs = append(errs, l.fit(opts.Width).write(w, opts.Color))
	}
	return errors.Join(errs...)
}

// view is a trace laid out for one width.
type view struct {
	trace      jaeger.Trace
	opts       Options
	rows       []row
	start, end int64             // of the whole trace, in microseconds
	colors     map[string]string // service name to colour
	errors     int

	nameWidth, startWidth, durationWidth, barWidth int
}

func newView(trace jaeger.Trace, opts Options) *view {
	v := &view{trace: trace, opts: opts, rows: rows(trace), colors: map[string]string{}}
	for i, span := range trace.Spans {
		if i == 0 || span.StartTime < v.start {
			v.start = span.StartTime
		}
		if end := span.StartTime + span.Duration; i == 0 || end > v.end {
			v.end = end
		}
	}
	v.startWidth, v.durationWidth = len("start"), len("duration")
	natural := 0
	for _, r := range v.rows {
		service := v.service(r.span)
		if _, ok := v.colors[service]; !ok {
			// Colours go by first appearance, so the root's service always
			// gets the first one, whichever trace is shown.
			v.colors[service] = palette[len(v.colors)%len(palette)]
		}
		if isError(r.span) {
			v.errors++
		}
		natural = max(natural, v.name(r, 1<<30).width())
		v.startWidth = max(v.startWidth, utf8.RuneCountInString(formatDuration(r.span.StartTime-v.start)))
		v.durationWidth = max(v.durationWidth, utf8.RuneCountInString(formatDuration(r.span.Duration)))
	}
	fixed := v.startWidth + v.durationWidth + 3*len(gap)
	// Names are cut before the bars get narrower than a quarter of the line.
	minBar := max(10, opts.Width/4)
	v.nameWidth = max(min(natural, opts.Width-fixed-minBar), min(natural, len("service operation")))
	v.barWidth = max(0, opts.Width-fixed-v.nameWidth)
	return v
}

func (v *view) service(span jaeger.Span) string {
	if s := v.trace.ServiceName(span); s != "" {
		return s
	}
	return "?" // the span's process is missing from the trace
}

func (v *view) header() line {
	services := len(v.colors)
	text := "Trace " + v.trace.TraceID + ": " + formatDuration(v.end-v.start) + ", " +
		plural(len(v.trace.Spans), "span") + ", " + plural(services, "service")
	l := line{{text, bold}}
	if v.errors > 0 {
		l = append(l, segment{", ", ""}, segment{plural(v.errors, "error"), red})
	}
	return l
}

// axis labels the columns, and the time axis with its two ends.
func (v *view) axis() line {
	l := line{
		pad(shorten("service operation", v.nameWidth), v.nameWidth),
		{gap + alignRight("start", v.startWidth) + gap + alignRight("duration", v.durationWidth) + gap, ""},
	}
	zero, total := "0", formatDuration(v.end-v.start)
	if v.barWidth >= len(zero)+len(total)+2 {
		l = append(l, segment{zero + strings.Repeat(" ", v.barWidth-len(zero)-utf8.RuneCountInString(total)) + total, ""})
	}
	return l
}

func (v *view) spanLine(r row) line {
	offset := r.span.StartTime - v.start
	l := v.name(r, v.nameWidth)
	l = append(l, pad("", v.nameWidth-l.width()),
		segment{gap + alignRight(formatDuration(offset), v.startWidth) + gap + alignRight(formatDuration(r.span.Duration), v.durationWidth) + gap, ""})
	from, to := barCells(offset, r.span.Duration, v.end-v.start, v.barWidth)
	color := v.colors[v.service(r.span)]
	if isError(r.span) {
		color = red
	}
	return append(l, segment{strings.Repeat(" ", from), ""}, segment{strings.Repeat("█", to-from), color})
}

// name draws the tree, service and operation of r in at most width runes.
// The tree and the notes (ERROR, parent missing) are what the reader must
// not miss, so names are cut first, then the parent's ID, down to a few
// characters each, before anything else is.
func (v *view) name(r row, width int) line {
	service := v.service(r.span)
	opColor, errText := "", ""
	if isError(r.span) {
		opColor, errText = red, " "+errorNote
	}
	before, after := "", ""
	if r.parent != "" {
		before, after = " (parent ", " "+r.problem+")"
	}
	l := line{
		{r.branch, ""},
		{service, v.colors[service]}, {" ", ""}, {r.span.OperationName, opColor},
		{errText, red},
		{before, ""}, {r.parent, ""}, {after, ""},
	}
	const serviceSeg, opSeg, parentSeg = 1, 3, 6
	for _, s := range []struct{ seg, min int }{{opSeg, 12}, {parentSeg, 9}, {serviceSeg, 8}, {opSeg, 1}, {serviceSeg, 1}} {
		if over := l.width() - width; over > 0 {
			text := l[s.seg].text
			l[s.seg].text = shorten(text, max(utf8.RuneCountInString(text)-over, s.min))
		}
	}
	return l.fit(width)
}

// barCells returns the cells [from, to) of a bar width cells wide that a
// span covers. Every span gets at least one cell, however short.
func barCells(offset, duration, total int64, width int) (from, to int) {
	if width <= 0 {
		return 0, 0
	}
	if total <= 0 {
		return 0, 1
	}
	w := int64(width)
	f := offset * w / total
	t := ((offset+duration)*w + total - 1) / total
	f = min(max(f, 0), w-1)
	t = min(max(t, f+1), w)
	return int(f), int(t)
}

func isError(span jaeger.Span) bool {
	v, _ := span.Tag("error")
	switch v := v.(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}

func pad(s string, width int) segment {
	return segment{s + strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s))), ""}
}

// alignRight pads s on the left, so that numbers line up on their units.
func alignRight(s string, width int) string {
	return strings.Repeat(" ", max(0, width-utf8.RuneCountInString(s))) + s
}
