package traceview

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// formatDuration writes microseconds with three significant digits, the way
// a reader says them: 812µs, 45.6ms, 1.23s.
func formatDuration(us int64) string {
	if us < 0 {
		// Clock skew between hosts can put a span before its trace's start.
		return "-" + formatDuration(-us)
	}
	if us < 1000 {
		return strconv.FormatInt(us, 10) + "µs"
	}
	if s, ok := significant(float64(us)/1e3, "ms"); ok {
		return s
	}
	if s, ok := significant(float64(us)/1e6, "s"); ok && us < 60e6 {
		return s
	}
	return (time.Duration(us) * time.Microsecond).Round(time.Second).String()
}

// significant formats v with three significant digits, unless it would
// round to 1000 or more, which reads better in the next unit.
func significant(v float64, unit string) (string, bool) {
	switch {
	case v < 9.995:
		return fmt.Sprintf("%.2f%s", v, unit), true
	case v < 99.95:
		return fmt.Sprintf("%.1f%s", v, unit), true
	case v < 999.5:
		return fmt.Sprintf("%.0f%s", v, unit), true
	}
	return "", false
}

// formatValue writes a tag or log field value as Jaeger's JSON holds it:
// a string, a float64 (every JSON number) or a bool.
func formatValue(v any) string {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		s = ""
	default:
		s = fmt.Sprint(v)
	}
	// Quote like logfmt, so that key=value pairs stay readable when a value
	// has spaces (error messages often do).
	if s == "" || strings.ContainsFunc(s, needsQuote) {
		return strconv.Quote(s)
	}
	return s
}

func needsQuote(r rune) bool {
	return r == ' ' || r == '=' || r == '"' || !unicode.IsPrint(r)
}

// shorten cuts s to at most n runes, ending it with … when it had to cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	runes := []rune(s)
	return string(runes[:n-1]) + "…"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
