package e2e

import (
	"maps"
	"os"
	"strconv"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

// FreePort returns a port from ports.Free: free on 127.0.0.1 now, and not
// handed out before in this test binary.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := ports.Free()
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return port
}

// StartOnFreePort starts binary as Start does, with env[portKey] (PORT,
// say) set to a free port, and returns it and the port once the program
// itself listens there; a port taken before the program binds it is
// retried (stack.StartOnFreePort). The caller's env is left as it was;
// Restart keeps the port.
func StartOnFreePort(t testing.TB, name, binary string, env map[string]string, portKey string, args ...string) (*Process, int) {
	t.Helper()
	binDir(t)
	p, port, err := stack.StartOnFreePort(t.Context(), name, func(port int) (*stack.Process, error) {
		withPort := maps.Clone(env)
		if withPort == nil {
			withPort = map[string]string{}
		}
		withPort[portKey] = strconv.Itoa(port)
		return stack.StartProcess(t.Context(), stack.Command{Name: name, Binary: binary, Args: args,
			Env: append(os.Environ(), stack.EnvList(withPort)...), StopTimeout: stopTimeout, Ready: stack.Listening(port)})
	})
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	return Managed(t, p), port
}
