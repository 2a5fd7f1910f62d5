package traceview

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTerminalWidthAsksTheTerminal: with COLUMNS unset, the width is the
// terminal's, as the kernel reports it for a pseudo-terminal of 137
// columns.
func TestTerminalWidthAsksTheTerminal(t *testing.T) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer master.Close()
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 137}); err != nil {
		t.Fatal(err)
	}
	terminal, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer terminal.Close()

	t.Setenv("COLUMNS", "")
	if got := TerminalWidth(terminal); got != 137 {
		t.Errorf("TerminalWidth(a terminal of 137 columns) = %d", got)
	}
	t.Setenv("COLUMNS", "90") // exported: the user's choice
	if got := TerminalWidth(terminal); got != 90 {
		t.Errorf("with COLUMNS=90 exported, TerminalWidth = %d, want 90", got)
	}
}
