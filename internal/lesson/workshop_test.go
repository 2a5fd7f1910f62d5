package lesson_test

import (
	"bytes"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// TestWorkshopGuide keeps the teacher's guide (docs/workshop.md) true to
// the code: its table of common mistakes names every mistake that
// TestMistakesAreTold makes, and each line of its answer keys is in the
// step's code, in the file it names.
func TestWorkshopGuide(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "docs", "workshop.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(data)
	for _, m := range mistakes {
		if row := "| " + strconv.Itoa(m.step) + " | " + m.name + " |"; !strings.Contains(guide, row) {
			t.Errorf("docs/workshop.md's common mistakes have no row %q", row)
		}
	}

	// A go block, or from step 11 a yaml one (Jaeger's configs).
	keys := regexp.MustCompile("(?s)#### Exercise (\\d+)\n\n```(?:go|yaml)\n(.*?)```").FindAllStringSubmatch(guide, -1)
	if len(keys) == 0 {
		t.Fatal("docs/workshop.md has no answer keys (#### Exercise N, then a go block)")
	}
	keyed := map[string]bool{}
	for _, key := range keys {
		keyed[key[1]] = true
		n, _ := strconv.Atoi(key[1])
		step, err := topology.Find(n)
		if err != nil {
			t.Errorf("answer key of exercise %d: %v", n, err)
			continue
		}
		file := ""
		for _, line := range strings.Split(strings.TrimSpace(key[2]), "\n") {
			if name, ok := strings.CutPrefix(line, "// "); ok && strings.HasSuffix(name, ".go") {
				file = name
				continue
			}
			if name, ok := strings.CutPrefix(line, "# "); ok && strings.HasSuffix(name, ".yaml") {
				file = name
				continue
			}
			code, err := os.ReadFile(filepath.Join(root, step.Dir, file))
			if err != nil {
				t.Errorf("answer key of exercise %d: %v", n, err)
				continue
			}
			if !strings.Contains(string(code), line) {
				t.Errorf("answer key of exercise %d: %s has no line %q", n, filepath.Join(step.Dir, file), line)
			}
		}
	}
	// make exercise and make check point to the key: docs/workshop.md#exercise-N.
	for _, e := range lesson.Exercises() {
		if _, err := strconv.Atoi(e.Name); err == nil && !keyed[e.Name] {
			t.Errorf("docs/workshop.md has no answer key for exercise %s (#### Exercise %s)", e.Name, e.Name)
		}
	}
}

// TestCopiesAreFormatted: every exercise's fresh copy is gofmt-clean, so
// that an editor that formats on save changes no file the learner did not
// touch (the import paths Copy rewrites may sort elsewhere).
func TestCopiesAreFormatted(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range lesson.Exercises() {
		dir := filepath.Join(root, testCopy(t, root, e))
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			formatted, err := format.Source(data)
			if err != nil {
				return err
			}
			if !bytes.Equal(formatted, data) {
				rel, _ := filepath.Rel(dir, path)
				t.Errorf("make exercise STEP=%s: %s is not gofmt-clean", e.Name, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestTaskNamesEverySpanToWrite: every span a lesson's check requires that
// the step before did not have is named in the exercise's printed task, so
// that a learner who follows the task to the letter does not fail once for
// a span nobody asked for.
func TestTaskNamesEverySpanToWrite(t *testing.T) {
	for _, e := range lesson.Exercises() {
		l, err := lesson.For(e.Check)
		if err != nil || strconv.Itoa(e.Check) != e.Name {
			continue // the propagation experiment writes no span
		}
		had := map[string]bool{}
		if before, err := lesson.For(e.From); err == nil {
			for _, r := range before.Requests {
				for _, s := range r.Spans {
					had[s.Service+" "+s.Operation] = true
				}
			}
		}
		for _, r := range l.Requests {
			for _, s := range r.Spans {
				if !had[s.Service+" "+s.Operation] && !strings.Contains(e.Task, s.Operation) {
					t.Errorf("exercise %s: the task does not name %s's span %q, which make check requires", e.Name, s.Service, s.Operation)
				}
			}
		}
	}
}
