// The runner starts its programs in process groups and stops them with
// signals, which native Windows does not have: there it says to use WSL2,
// where the tutorial runs as on Linux.

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprint(os.Stderr, `tutorial: native Windows is not supported; use WSL2, where the tutorial runs as on Linux:
  1. in PowerShell: wsl --install   (https://learn.microsoft.com/windows/wsl/install)
  2. in the WSL2 terminal (Ubuntu): install Go 1.26 from https://go.dev/dl/, make and git,
     clone the tutorial there, and run make setup, then make run.
`)
	os.Exit(1)
}
