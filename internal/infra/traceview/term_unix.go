//go:build unix

package traceview

import (
	"os"

	"golang.org/x/sys/unix"
)

// terminalColumns asks the terminal f for its width: 0 if f is no terminal.
func terminalColumns(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
