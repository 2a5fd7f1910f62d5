package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// TestJaegerOnPath runs step 3 with a jaeger on PATH (a link to the source
// build, as a learner's own would be): the runner uses it, and says which
// Jaeger it uses and where its UI is.
func TestJaegerOnPath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jaeger and step 3")
	}
	needProc(t)
	source, err := jaeger.Binary(t.Context(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "jaeger")
	if err := os.Symlink(source, link); err != nil {
		t.Fatal(err)
	}
	port, jaegerPort := e2e.FreePort(t), e2e.FreePort(t)
	run := startTutorialEnv(t, []string{"PATH=" + dir + string(filepath.ListSeparator) + os.Getenv("PATH"), "JAEGER_BINARY=", "JAEGER="},
		"run", "-port", strconv.Itoa(port), "-jaeger-port", strconv.Itoa(jaegerPort), "-collector-port", "0", "-agent-port", "0",
		"-github-port", "0", "3")
	run.waitFor(t, "Ctrl-C stops everything.", 3*time.Minute)
	out := run.output()
	if want := "Jaeger: Jaeger " + link + " (from PATH).\n"; !strings.Contains(out, want) {
		t.Errorf("output does not say %q:\n%s", want, out)
	}
	ui := regexp.MustCompile(`(?m)^\s+traces\s+http://127\.0\.0\.1:` + strconv.Itoa(jaegerPort) + `/ \(in a browser: the tutorial's trace viewer\)$`)
	if !ui.MatchString(out) {
		t.Errorf("output does not say where Jaeger's UI is, on port %d:\n%s", jaegerPort, out)
	}
	var jaegers []string
	for _, p := range run.children(t) {
		if p.name == "jaeger" {
			jaegers = append(jaegers, p.name)
		}
	}
	if len(jaegers) != 1 {
		t.Errorf("%d jaeger processes, want 1", len(jaegers))
	}
	run.interrupt(t)
}
