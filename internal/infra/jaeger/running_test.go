package jaeger

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestRecordAndFindRunning(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", t.TempDir())
	if r, ok := FindRunning(); ok {
		t.Fatalf("FindRunning with nothing recorded = %+v", r)
	}

	// A runner that has exited without removing its record.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := Record(Running{PID: dead.Process.Pid, Step: 4, QueryURL: "http://127.0.0.1:1", Started: now}); err != nil {
		t.Fatal(err)
	}
	older, err := Record(Running{PID: os.Getppid(), Step: 3, QueryURL: "http://127.0.0.1:2", Started: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	remove, err := Record(Running{PID: os.Getpid(), Step: 7, QueryURL: "http://127.0.0.1:16786", Started: now.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := FindRunning(); !ok || r.QueryURL != "http://127.0.0.1:16786" || r.Step != 7 {
		t.Errorf("FindRunning = %+v, %v; want the latest live runner's, step 7 on 16786", r, ok)
	}
	dir, _ := runningDir()
	remove()
	if r, ok := FindRunning(); !ok || r.Step != 3 {
		t.Errorf("after the latest stopped, FindRunning = %+v, %v; want step 3's", r, ok)
	}
	older()
	if r, ok := FindRunning(); ok {
		t.Errorf("with no runner left, FindRunning = %+v", r)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("records left behind: %v", left)
	}
}
