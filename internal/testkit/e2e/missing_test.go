package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Outside CI, NotRun skips, and adds a line to TUTORIAL_NOT_RUN for make
// test to show.
func TestNotRunSkipsAndRecords(t *testing.T) {
	t.Setenv("CI", "")
	file := filepath.Join(t.TempDir(), "not-run")
	t.Setenv("TUTORIAL_NOT_RUN", file)
	ran := false
	t.Run("needs-redis", func(t *testing.T) {
		NotRun(t, "this test needs redis-server.\ninstall it with: x")
		ran = true
	})
	if ran {
		t.Error("NotRun did not stop the test")
	}
	data, err := os.ReadFile(file)
	if want := "./internal/testkit/e2e TestNotRunSkipsAndRecords/needs-redis: NOT RUN: this test needs redis-server.\n"; err != nil || string(data) != want {
		t.Errorf("TUTORIAL_NOT_RUN has %q, %v; want %q", data, err, want)
	}
	if strings.Contains(string(data), "install it with") {
		t.Error("more than the first line recorded")
	}
}
