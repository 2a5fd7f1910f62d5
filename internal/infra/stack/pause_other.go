//go:build !unix

package stack

import "github.com/tracing-tutorial/tutorial/internal/infra/proc"

// Only Unix pauses processes (SIGSTOP); nothing is ever paused elsewhere.
func resume(*proc.Process) {}
