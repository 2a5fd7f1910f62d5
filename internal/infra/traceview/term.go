package traceview

import (
	"fmt"
	"os"
	"strconv"
)

// UseColor says whether to colour what is written to out, for a -color
// flag: "always", "never", or "auto", which colours only a terminal, and
// only while NO_COLOR is unset or empty (https://no-color.org). Output
// piped to a file or pasted into a README must stay plain text.
func UseColor(mode string, out *os.File) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		return os.Getenv("NO_COLOR") == "" && isTerminal(out), nil
	}
	return false, fmt.Errorf("-color must be auto, always or never, not %q", mode)
}

func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// TerminalWidth returns the width to draw in for out: $COLUMNS if it is
// exported, else the width of the terminal that out is (the kernel knows
// it: TIOCGWINSZ), else DefaultWidth. Shells set COLUMNS without exporting
// it, so the terminal's own answer is what counts; a file or a pipe gets
// DefaultWidth, plain text for a README.
func TerminalWidth(out *os.File) int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	if n := terminalColumns(out); n > 0 {
		return n
	}
	return DefaultWidth
}
