package failures

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// notRows are this package's tests that are no row of the matrix.
var notRows = map[string]bool{"TestMain": true, "TestTableNamesEveryTest": true}

// TestTableNamesEveryTest keeps docs/failures.md and the tests together:
// every row of its table names a test of this package, and every test of
// this package has a row.
func TestTableNamesEveryTest(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "failures.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := tableRows(string(doc))
	if len(rows) < 20 {
		t.Fatalf("docs/failures.md: %d rows in the table, want one per failure", len(rows))
	}

	tests := map[string]bool{}
	files, _ := filepath.Glob("*_test.go")
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			if fn, ok := decl.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Test") && !notRows[fn.Name.Name] {
				tests[fn.Name.Name] = true
			}
		}
	}

	named := map[string]bool{}
	for _, row := range rows {
		switch {
		case row.test == "":
			t.Errorf("docs/failures.md: the row %q names no test in its last column", row.failure)
		case !tests[row.test]:
			t.Errorf("docs/failures.md: the row %q names %s, which internal/tests/failures does not have", row.failure, row.test)
		case named[row.test]:
			t.Errorf("docs/failures.md: %s has two rows", row.test)
		}
		named[row.test] = true
	}
	for test := range tests {
		if !named[test] {
			t.Errorf("%s has no row in docs/failures.md's table: add one (failure, how to cause it, what the client gets, what the trace shows)", test)
		}
	}
}

type row struct{ failure, test string }

var testName = regexp.MustCompile("^`(Test\\w+)`$")

// tableRows returns the rows of the first table in doc, under its header.
func tableRows(doc string) []row {
	var rows []row
	inTable := false
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if !inTable || strings.HasPrefix(cells[0], "---") {
			inTable = true // the header, then its rule
			continue
		}
		r := row{failure: cells[0]}
		if m := testName.FindStringSubmatch(strings.TrimSpace(cells[len(cells)-1])); m != nil {
			r.test = m[1]
		}
		rows = append(rows, r)
	}
	return rows
}
