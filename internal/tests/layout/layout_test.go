// Package layout holds the repository to the rooms that docs/architecture.md
// draws: what the steps may import, what only tests may import, and a line
// in the map for every package.
package layout

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tracing-tutorial/tutorial/"

// root is the repository's root, from this package's folder.
const root = "../../.."

// packages returns each folder under dirs that holds Go files, relative to
// the root, with the imports of its non-test and of its test files.
func packages(t *testing.T, dirs ...string) map[string][2][]string {
	t.Helper()
	found := map[string][2][]string{}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
				return err
			}
			file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			rel = filepath.ToSlash(rel)
			imports := found[rel]
			which := 0
			if strings.HasSuffix(path, "_test.go") {
				which = 1
			}
			for _, spec := range file.Imports {
				p, _ := strconv.Unquote(spec.Path.Value)
				if strings.HasPrefix(p, module) {
					imports[which] = append(imports[which], strings.TrimPrefix(p, module))
				}
			}
			found[rel] = imports
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for pkg, imports := range found {
		for i := range imports {
			slices.Sort(imports[i])
			imports[i] = slices.Compact(imports[i])
		}
		found[pkg] = imports
	}
	return found
}

// TestStepsImportOnlyTheStepLibrary: a step's program is its lesson; what
// it shares with other steps (the job queue) is in internal/steplib, and it
// never imports another step, the test kit or the runner's parts.
func TestStepsImportOnlyTheStepLibrary(t *testing.T) {
	steps, _ := filepath.Glob(filepath.Join(root, "step*"))
	var dirs []string
	for _, s := range steps {
		dirs = append(dirs, filepath.Base(s))
	}
	for pkg, imports := range packages(t, dirs...) {
		step := strings.SplitN(pkg, "/", 2)[0]
		for _, imp := range imports[0] {
			if !strings.HasPrefix(imp, step+"/") && !strings.HasPrefix(imp, "internal/steplib/") {
				t.Errorf("%s imports %s: a step's programs import only their own packages and internal/steplib", pkg, imp)
			}
		}
	}
}

// TestTestKitOnlyInTests: internal/testkit is for tests; no program and no
// package that a program links may import it.
func TestTestKitOnlyInTests(t *testing.T) {
	for pkg, imports := range packages(t, "cmd", "internal", ".") {
		if strings.HasPrefix(pkg, "internal/testkit") || strings.HasPrefix(pkg, "internal/tests") {
			continue
		}
		for _, imp := range imports[0] {
			if strings.HasPrefix(imp, "internal/testkit/") || strings.HasPrefix(imp, "internal/tests/") {
				t.Errorf("%s imports %s outside its tests: internal/testkit is for tests only", pkg, imp)
			}
		}
	}
}

// TestProgramsDoNotLinkTesting: make check, the runner and the bench run a
// step as a library does, returning errors; none of them links Go's
// testing package (which a test harness would bring).
func TestProgramsDoNotLinkTesting(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "./cmd/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if slices.Contains(strings.Fields(string(out)), "testing") {
		cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, "-deps", "./cmd/...")
		cmd.Dir = root
		out, _ := cmd.Output()
		var who []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line+" ", " testing ") {
				who = append(who, strings.SplitN(line, ":", 2)[0])
			}
		}
		t.Errorf("a program under cmd/ links package testing, through %s", strings.Join(who, ", "))
	}
}

// TestArchitectureNamesEveryPackage: docs/architecture.md is the map of the
// rooms; every package is on it, and everything on it exists.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for pkg := range packages(t, "cmd", "internal") {
		if !strings.Contains(text, "`"+pkg+"`") && !strings.Contains(text, "`"+pkg+"/`") {
			t.Errorf("docs/architecture.md does not name `%s`: add its line", pkg)
		}
	}
	for _, field := range strings.Split(text, "`") {
		if strings.HasPrefix(field, "internal/") || strings.HasPrefix(field, "cmd/") {
			if _, err := os.Stat(filepath.Join(root, strings.TrimSuffix(field, "/"))); err != nil {
				t.Errorf("docs/architecture.md names `%s`, which does not exist", field)
			}
		}
	}
}
