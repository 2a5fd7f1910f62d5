package jaeger

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestPrebuildJaeger: with no Jaeger built, steps 1 and 2 start its build
// in the background, in a session of its own (a Ctrl-C in the terminal
// does not reach it), and say where its progress goes.
func TestPrebuildJaeger(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", t.TempDir())
	t.Setenv("JAEGER_BINARY", "")
	t.Setenv("JAEGER", "")
	t.Setenv("PATH", pathWithout(t, "jaeger"))
	started := filepath.Join(t.TempDir(), "started")
	command := func() (*exec.Cmd, error) {
		return exec.Command("sh", "-c", "echo started > "+started+"; echo 'jaeger: still building Jaeger (20s, 244 packages so far)'; exec sleep 60"), nil
	}

	msg := BuildInBackground(command)
	path, built, err := Cached()
	if err != nil || built {
		t.Fatalf("Cached() = %s, %v, %v", path, built, err)
	}
	log := BuildLog(path)
	if !strings.Contains(msg, "it is building now, in the\nbackground, at low priority") || !strings.Contains(msg, "tail -f "+log) {
		t.Errorf("BuildInBackground says %q", msg)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(path), "build.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(data))
	defer syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the background build did not start")
		}
	}
	sid, err := unix.Getsid(pid)
	if mine, _ := unix.Getsid(0); err != nil || sid == mine || sid != pid {
		t.Errorf("the build's session is %d (%v), want one of its own, not ours (%d)", sid, err, mine)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if data, _ := os.ReadFile(log); strings.Contains(string(data), "244 packages") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the build's progress is not in its log")
		}
	}
	if got := buildProgress(log); got != "still building Jaeger (20s, 244 packages so far)" {
		t.Errorf("buildProgress = %q", got)
	}
}

// TestNoPrebuildForALearnersJaeger: with a Jaeger of the learner's own
// (JAEGER_BINARY), steps 1 and 2 build none in the background.
func TestNoPrebuildForALearnersJaeger(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", t.TempDir())
	mine := filepath.Join(t.TempDir(), "jaeger")
	if err := os.WriteFile(mine, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JAEGER_BINARY", mine)
	built := false
	command := func() (*exec.Cmd, error) {
		built = true
		return exec.Command("true"), nil
	}
	if msg := BuildInBackground(command); msg != "" || built {
		t.Errorf("with JAEGER_BINARY, BuildInBackground says %q and builds: %v; want nothing", msg, built)
	}
}

// pathWithout is PATH without the directories that hold name.
func pathWithout(t *testing.T, name string) string {
	t.Helper()
	var kept []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			kept = append(kept, dir)
		}
	}
	return strings.Join(kept, string(filepath.ListSeparator))
}
