package traceview

import (
	"strings"
	"unicode/utf8"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// details lists r's tags and then its logs, each log at its offset from
// the span's start, under the span and inside its branch of the tree.
func (v *view) details(r row) []line {
	indent := r.below + "│    "
	if r.leaf {
		indent = r.below + "     "
	}
	var texts []string
	for _, tag := range r.span.Tags {
		texts = append(texts, tag.Key+"="+formatValue(tag.Value))
	}
	for _, log := range r.span.Logs {
		texts = append(texts, "log +"+formatDuration(log.Timestamp-r.span.StartTime)+" "+fields(log.Fields))
	}
	var lines []line
	for _, text := range texts {
		for _, part := range wrap(text, v.opts.Width-utf8.RuneCountInString(indent)) {
			lines = append(lines, line{{indent + part, ""}})
		}
	}
	return lines
}

func fields(kvs []jaeger.KeyValue) string {
	parts := make([]string, len(kvs))
	for i, kv := range kvs {
		parts[i] = kv.Key + "=" + formatValue(kv.Value)
	}
	return strings.Join(parts, " ")
}

// wrap cuts text into lines of at most width runes, at a space if there is
// one in the second half of the line, continuation lines indented by two.
// Details are wrapped, not cut with …: a long URL or error message is often
// the very thing the reader is looking for.
func wrap(text string, width int) []string {
	const cont = "  "
	if width < 10 { // too narrow to be worth it; the caller's fit cuts it
		return []string{text}
	}
	runes := []rune(text)
	var out []string
	for prefix := ""; ; prefix = cont {
		n := width - len(prefix)
		if len(runes) <= n {
			return append(out, prefix+string(runes))
		}
		if space := lastIndex(runes[:n], ' '); space > n/2 {
			n = space + 1
		}
		out = append(out, prefix+string(runes[:n]))
		runes = runes[n:]
	}
}

func lastIndex(runes []rune, r rune) int {
	for i := len(runes) - 1; i >= 0; i-- {
		if runes[i] == r {
			return i
		}
	}
	return -1
}
