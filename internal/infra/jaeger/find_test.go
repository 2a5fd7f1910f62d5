package jaeger

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// standIn writes a jaeger into dir that says it is version v (as
// `jaeger version` does: JSON on stdout).
func standIn(t *testing.T, dir, v string) string {
	t.Helper()
	path := filepath.Join(dir, "jaeger")
	script := "#!/bin/sh\necho '{\"gitCommit\":\"abc\",\"gitVersion\":\"" + v + "\",\"buildDate\":\"2025-01-01\"}'\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// onlyOnPath makes dir the whole PATH, and clears JAEGER_BINARY and JAEGER.
func onlyOnPath(t *testing.T, dir string) {
	t.Setenv("PATH", dir)
	t.Setenv("JAEGER_BINARY", "")
	t.Setenv("JAEGER", "")
}

// JAEGER_BINARY comes first, before a jaeger on PATH.
func TestFindJaegerBinary(t *testing.T) {
	onPath, mine := t.TempDir(), t.TempDir()
	standIn(t, onPath, "v2.12.0")
	want := standIn(t, mine, "v2.13.0")
	onlyOnPath(t, onPath)
	t.Setenv("JAEGER_BINARY", want)
	found, err := Find(t.Context(), nil)
	if err != nil || found.Binary != want || found.From != "JAEGER_BINARY" || !found.OwnUI {
		t.Errorf("Find = %+v, %v; want %s from JAEGER_BINARY, with its own UI", found, err, want)
	}

	t.Setenv("JAEGER_BINARY", filepath.Join(mine, "nothing"))
	if found, err := Find(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "JAEGER_BINARY") {
		t.Errorf("JAEGER_BINARY that does not exist: Find = %+v, %v; want an error that names it", found, err)
	}
}

// A jaeger v2, 2.12.0 or later, on PATH comes next: a release, with its
// own UI, or a link to the source build, without.
func TestFindOnPath(t *testing.T) {
	source := binary(t) // before the test takes PATH away from go build
	for _, v := range []string{"v2.12.0", "v2.14.1"} {
		dir := t.TempDir()
		want := standIn(t, dir, v)
		onlyOnPath(t, dir)
		found, err := Find(t.Context(), nil)
		if err != nil || found.Binary != want || found.From != "PATH" || !found.OwnUI {
			t.Errorf("jaeger %s on PATH: Find = %+v, %v; want it, from PATH, with its own UI", v, found, err)
		}
	}

	dir := t.TempDir()
	link := filepath.Join(dir, "jaeger")
	if err := os.Symlink(source, link); err != nil {
		t.Fatal(err)
	}
	onlyOnPath(t, dir)
	found, err := Find(t.Context(), nil)
	if err != nil || found.Binary != link || found.From != "PATH" || found.OwnUI {
		t.Errorf("a link to the source build on PATH: Find = %+v, %v; want it, from PATH, with the tutorial's viewer", found, err)
	}
}

// A jaeger on PATH that is not v2.12 or later is passed over, and the
// runner can say why; the source build is used.
func TestFindSkipsAnOldJaeger(t *testing.T) {
	source := binary(t) // before the test takes PATH away from go build
	for _, v := range []string{"v1.60.0", "v2.11.0", "v3.0.0", ""} {
		dir := t.TempDir()
		standIn(t, dir, v)
		onlyOnPath(t, dir)
		found, err := Find(t.Context(), nil)
		if err != nil || found.Binary != source || found.From != "the source build" || found.OwnUI {
			t.Errorf("jaeger %q on PATH: Find = %+v, %v; want the source build", v, found, err)
		}
		if !strings.Contains(found.Skipped, filepath.Join(dir, "jaeger")) || !strings.Contains(found.Skipped, "2.12.0 or later") {
			t.Errorf("jaeger %q on PATH: Skipped = %q, want why", v, found.Skipped)
		}
	}
}

// JAEGER=docker without docker says what to do.
func TestFindDockerWithoutDocker(t *testing.T) {
	onlyOnPath(t, t.TempDir())
	t.Setenv("JAEGER", "docker")
	if found, err := Find(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "no docker command") {
		t.Errorf("JAEGER=docker without docker: Find = %+v, %v; want an error", found, err)
	}
}

// make check and the end-to-end tests run JAEGER_BINARY when it is set (the
// dev container sets it), and pass over a jaeger on PATH and JAEGER=docker.
func TestForChecks(t *testing.T) {
	source := binary(t) // before the test takes PATH away from go build
	onPath, mine := t.TempDir(), t.TempDir()
	standIn(t, onPath, "v2.12.0")
	want := standIn(t, mine, "v2.12.0")
	onlyOnPath(t, onPath)
	t.Setenv("JAEGER", "docker")
	if got, err := ForChecks(t.Context(), nil); err != nil || got != source {
		t.Errorf("no JAEGER_BINARY: ForChecks = %q, %v; want the source build %s", got, err, source)
	}
	t.Setenv("JAEGER_BINARY", want)
	if got, err := ForChecks(t.Context(), nil); err != nil || got != want {
		t.Errorf("ForChecks = %q, %v; want JAEGER_BINARY %s", got, err, want)
	}
	t.Setenv("JAEGER_BINARY", filepath.Join(mine, "nothing"))
	if got, err := ForChecks(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "JAEGER_BINARY") {
		t.Errorf("JAEGER_BINARY that does not exist: ForChecks = %q, %v; want an error that names it", got, err)
	}
}
