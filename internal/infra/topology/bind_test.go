package topology_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// TestProgramsBindBeforeTheySayListening: every program of every step,
// started on a port that is taken, exits with the bind error and never
// logs "listening" (a learner who lost a port race once read
// "listening addr=…:8000", then "bind: address already in use").
func TestProgramsBindBeforeTheySayListening(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)

	for _, step := range topology.Steps() {
		for _, p := range step.Programs {
			t.Run(p.Service, func(t *testing.T) {
				binary := e2e.Build(t, filepath.Join(root, p.Package))
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, binary)
				// Nothing else it needs answers: it must fail on the port
				// alone, before it talks to anything.
				cmd.Env = append(os.Environ(), "HOST=127.0.0.1", "PORT="+port,
					"REDIS_ADDR=127.0.0.1:1", "JAEGER_ENDPOINT=http://127.0.0.1:1/api/traces",
					"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1", "GITHUB_API_URL=http://127.0.0.1:1/")
				output, err := cmd.CombinedOutput()
				if err == nil || ctx.Err() != nil {
					t.Fatalf("on a taken port: %v (want an exit with the bind error, at once)\n%s", err, output)
				}
				if !strings.Contains(string(output), "address already in use") {
					t.Errorf("on a taken port, no bind error in its output:\n%s", output)
				}
				if strings.Contains(string(output), "msg=listening") {
					t.Errorf("on a taken port, it said it was listening:\n%s", output)
				}
			})
		}
	}
}
