//go:build !unix

package traceview

import "os"

// terminalColumns is 0, unknown, where there is no TIOCGWINSZ.
func terminalColumns(*os.File) int { return 0 }
