package traceview

import (
	"io"
	"strings"
	"unicode/utf8"
)

// A line is laid out as plain text in segments, and coloured only when it
// is written: widths and truncation never have to step over escape codes.
type line []segment

type segment struct {
	text  string
	color string // ANSI SGR parameters such as "31"; "" for none
}

func (l line) width() int {
	n := 0
	for _, s := range l {
		n += utf8.RuneCountInString(s.text)
	}
	return n
}

// fit cuts l to at most n runes, ending with … where it cut.
func (l line) fit(n int) line {
	if l.width() <= n {
		return l
	}
	if n <= 0 {
		return nil
	}
	var out line
	left := n - 1 // room before the …
	for _, s := range l {
		r := []rune(s.text)
		if len(r) >= left {
			return append(out, segment{string(r[:left]) + "…", s.color})
		}
		out = append(out, s)
		left -= len(r)
	}
	return out
}

// write writes l and a newline, without trailing spaces: pasted into a
// README, they would only be noise in diffs.
func (l line) write(w io.Writer, color bool) error {
	var b strings.Builder
	for _, s := range l {
		if color && s.color != "" && strings.TrimSpace(s.text) != "" {
			b.WriteString("\x1b[" + s.color + "m" + s.text + "\x1b[0m")
		} else {
			b.WriteString(s.text)
		}
	}
	// Colour resets never end in a space, so this trims plain text only.
	text := strings.TrimRight(b.String(), " ")
	_, err := io.WriteString(w, text+"\n")
	return err
}
