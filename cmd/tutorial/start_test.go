package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
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
	saved := buildJaegerCommand
	defer func() { buildJaegerCommand = saved }()
	buildJaegerCommand = func() (*exec.Cmd, error) {
		return exec.Command("sh", "-c", "echo started > "+started+"; echo 'jaeger: still building Jaeger (20s, 244 packages so far)'; exec sleep 60"), nil
	}

	msg := prebuildJaeger()
	path, built, err := jaeger.Cached()
	if err != nil || built {
		t.Fatalf("jaeger.Cached() = %s, %v, %v", path, built, err)
	}
	log := jaeger.BuildLog(path)
	if !strings.Contains(msg, "it is building now, in the\nbackground, at low priority") || !strings.Contains(msg, "tail -f "+log) {
		t.Errorf("prebuildJaeger says %q", msg)
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
	saved := buildJaegerCommand
	defer func() { buildJaegerCommand = saved }()
	built := false
	buildJaegerCommand = func() (*exec.Cmd, error) {
		built = true
		return exec.Command("true"), nil
	}
	if msg := prebuildJaeger(); msg != "" || built {
		t.Errorf("with JAEGER_BINARY, prebuildJaeger says %q and builds: %v; want nothing", msg, built)
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

// TestWarmUp: after the warm-up, the READMEs' repositories answer at once,
// without the stand-in's first 202.
func TestWarmUp(t *testing.T) {
	server := httptest.NewServer(fakegithub.New(fakegithub.Options{ComputeCalls: 1}))
	defer server.Close()
	(&runner{}).warmUp(server.URL)
	for _, repo := range append(readmeRepos, "some/other") {
		resp, err := http.Get(server.URL + "/repos/" + repo + "/stats/contributors")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusOK
		if repo == "some/other" {
			want = http.StatusAccepted
		}
		if resp.StatusCode != want {
			t.Errorf("%s after the warm-up: %s, want %d", repo, resp.Status, want)
		}
	}
}
