package main

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

// testDir returns a folder of the test's own under _exercises (a
// learner's copies are left alone), from the tutorial's root, and its
// root; the folder is removed when the test ends.
func testDir(t *testing.T) (dir, root string) {
	t.Helper()
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	rand.Read(b)
	top := filepath.Join(lesson.ExercisesDir, "test-"+hex.EncodeToString(b))
	t.Cleanup(func() { os.RemoveAll(filepath.Join(root, top)) })
	return filepath.Join(top, "step4"), root
}

func wantOutput(t *testing.T, what, output string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(output, w) {
			t.Errorf("%s does not say %q:\n%s", what, w, output)
		}
	}
}

func TestExerciseCopiesAndSaysWhatToDo(t *testing.T) {
	dir, root := testDir(t)
	var out strings.Builder
	if code := exercise(&out, "4", dir, false); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	wantOutput(t, "make exercise", out.String(),
		"Exercise 4: child spans", "Your copy of step 3 (step3-adding-jaeger) is in "+dir,
		"StartSpanFromContext", "Start in:\n  "+filepath.Join(dir, "contributors.go"),
		"make check STEP=4 DIR="+dir, "make exercise STEP=4 RESET=1")
	if _, err := os.Stat(filepath.Join(root, dir, "main.go")); err != nil {
		t.Errorf("no copy of step 3's main.go: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, dir, "main_test.go")); err == nil {
		t.Error("the copy has step 3's tests, which hold it to step 3's lesson")
	}

	// Again: the learner's work is not overwritten, unless asked to.
	if err := os.WriteFile(filepath.Join(root, dir, "mine.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := exercise(&out, "4", dir, false); code == 0 || !strings.Contains(out.String(), "exists already") {
		t.Errorf("a second make exercise: exit %d:\n%s\nwant a refusal that names RESET=1", code, out.String())
	}
	if _, err := os.Stat(filepath.Join(root, dir, "mine.go")); err != nil {
		t.Errorf("the learner's file is gone after a refused make exercise: %v", err)
	}
	out.Reset()
	if code := exercise(&out, "4", dir, true); code != 0 {
		t.Errorf("RESET=1: exit %d:\n%s", code, out.String())
	}
	if _, err := os.Stat(filepath.Join(root, dir, "mine.go")); err == nil {
		t.Error("RESET=1 kept the learner's file: not a fresh start")
	}
}

// make exercise without STEP lists the exercises, and is no error.
func TestExercisesListed(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"exercise"}, &out, &errOut); code != 0 {
		t.Errorf("make exercise without STEP: exit %d, want 0\n%s%s", code, out.String(), errOut.String())
	}
	wantOutput(t, "make exercise without STEP", out.String(),
		"  3            a tracer, one span per request", "  propagation  the propagation experiment", "(about 20 minutes)")
}

func TestUnknownExerciseListsThem(t *testing.T) {
	var out strings.Builder
	if code := exercise(&out, "99", "", false); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	want := []string{`no exercise "99"`}
	for _, e := range lesson.Exercises() {
		want = append(want, e.Name)
	}
	wantOutput(t, "make exercise STEP=99", out.String(), want...)
}

// TestCheck runs make check's command on step 4's own code, which passes,
// and on the start of exercise 4, a copy of step 3, which fails and is
// told what to do.
func TestCheck(t *testing.T) {
	var out strings.Builder
	if code := check(&out, "4", "../../step4-multiple-spans"); code != 0 {
		t.Errorf("step 4's own code: exit %d:\n%s", code, out.String())
	}
	wantOutput(t, "make check of step 4", out.String(),
		"gateway: GET /git/{owner}/{repo}\n    gateway: fetchContributorStats", "PASS (", "Next: make exercise STEP=5")

	dir, root := testDir(t)
	if code := exercise(&strings.Builder{}, "4", dir, false); code != 0 {
		t.Fatal("make exercise failed")
	}
	out.Reset()
	if code := check(&out, "4", filepath.Join(root, dir)); code != 1 {
		t.Errorf("a copy of step 3: exit %d, want 1:\n%s", code, out.String())
	}
	wantOutput(t, "make check of a copy of step 3", out.String(),
		"1. no span for the GitHub call (fetchContributorStats)", "FAIL (", "make diff FROM=3 TO=4")

	// Code that does not build is told so before anything runs.
	if err := os.WriteFile(filepath.Join(root, dir, "broken.go"), []byte("package main\nfunc {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := check(&out, "4", filepath.Join(root, dir)); code != 1 {
		t.Errorf("code that does not build: exit %d, want 1", code)
	}
	wantOutput(t, "make check of code that does not build", out.String(), "Your code does not build", "broken.go:2", "FAIL")

	// A program that dies at start: its own log, not Jaeger's.
	if err := os.WriteFile(filepath.Join(root, dir, "broken.go"), []byte("package main\n\nfunc init() { panic(\"oops\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := check(&out, "4", filepath.Join(root, dir)); code != 1 {
		t.Errorf("a program that panics: exit %d, want 1", code)
	}
	wantOutput(t, "make check of a program that panics", out.String(), "could not run your code", "panic: oops", "FAIL: fix what is above")
	if strings.Contains(out.String(), "Jaeger's log") {
		t.Errorf("make check of a program that panics shows Jaeger's log:\n%s", out.String())
	}
}

func TestCheckRefusesWhatItCannotCheck(t *testing.T) {
	for _, c := range []struct{ step, dir, want string }{
		{"4", os.TempDir(), "outside the tutorial"},
		{"4", "../../no-such-folder", "make exercise STEP=4"},
		{"2", "../../step2-monolith-wild", "no lesson for step 2"},
		{"four", "../../step4-multiple-spans", "not a step number"},
	} {
		var out strings.Builder
		if code := check(&out, c.step, c.dir); code != 2 {
			t.Errorf("check %s %s: exit %d, want 2", c.step, c.dir, code)
		}
		wantOutput(t, "check "+c.step+" "+c.dir, out.String(), c.want)
	}
}

// TestCheckStep11 runs make check's command on step 11's own configs,
// which pass, and on step 10, which has none: each role's config is asked
// for.
func TestCheckStep11(t *testing.T) {
	var out strings.Builder
	if code := check(&out, "11", "../../step11-jaeger-architecture"); code != 0 {
		t.Errorf("step 11's own configs: exit %d:\n%s", code, out.String())
	}
	wantOutput(t, "make check of step 11", out.String(), "Jaeger as its roles", "PASS (", "your configs keep step 11's promise")

	out.Reset()
	if code := check(&out, "11", "../../step10-opentelemetry-native"); code != 1 {
		t.Errorf("step 10: exit %d, want 1:\n%s", code, out.String())
	}
	wantOutput(t, "make check of step 10 as step 11", out.String(),
		"no storage.yaml", "no collector.yaml", "no query.yaml", "FAIL (", "make diff FROM=10 TO=11")
}

// TestCheckStep12 runs make check's command on step 12's own configs,
// which pass, and on an unchanged copy of step 11, whose collector keeps
// every trace: the check says to sample at the tail.
func TestCheckStep12(t *testing.T) {
	var out strings.Builder
	if code := check(&out, "12", "../../step12-sampling"); code != 0 {
		t.Errorf("step 12's own configs: exit %d:\n%s", code, out.String())
	}
	wantOutput(t, "make check of step 12", out.String(), "the tail sampler kept", "PASS (", "your configs keep step 12's promise")

	// make exercise STEP=12: step 11's programs and its Jaeger configs,
	// whose collector keeps every trace.
	dir, root := testDir(t)
	out.Reset()
	if code := exercise(&out, "12", dir, false); code != 0 {
		t.Fatalf("make exercise STEP=12: exit %d:\n%s", code, out.String())
	}
	wantOutput(t, "make exercise STEP=12", out.String(), "tail_sampling", filepath.Join(dir, "jaeger/collector.yaml"))
	out.Reset()
	if code := check(&out, "12", filepath.Join(root, dir)); code != 1 {
		t.Errorf("a copy of step 11: exit %d, want 1:\n%s", code, out.String())
	}
	wantOutput(t, "make check of a copy of step 11 as step 12", out.String(),
		"keeps 100 of 100 ordinary traces", "tail sampling keeps about a tenth", "FAIL (", "make diff FROM=11 TO=12")
}

// TestExerciseStep11: make exercise STEP=11 copies step 10, which has no
// Jaeger configs: the check asks for each.
func TestExerciseStep11(t *testing.T) {
	dir, root := testDir(t)
	var out strings.Builder
	if code := exercise(&out, "11", dir, false); code != 0 {
		t.Fatalf("make exercise STEP=11: exit %d:\n%s", code, out.String())
	}
	wantOutput(t, "make exercise STEP=11", out.String(), "remote_storage", filepath.Join(dir, "jaeger/storage.yaml"))
	out.Reset()
	if code := check(&out, "11", filepath.Join(root, dir)); code != 1 {
		t.Errorf("a copy of step 10: exit %d, want 1:\n%s", code, out.String())
	}
	wantOutput(t, "make check of a copy of step 10 as step 11", out.String(),
		"no storage.yaml", "no collector.yaml", "no query.yaml", "FAIL (", "make diff FROM=10 TO=11")
}
