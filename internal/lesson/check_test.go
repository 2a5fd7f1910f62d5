package lesson

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// The flags of TestCheck, which `make check` (cmd/workshop) passes.
var (
	checkStep   = flag.Int("lesson.step", 0, "the step whose lesson TestCheck checks")
	checkDir    = flag.String("lesson.dir", "", "the code TestCheck checks: a step's folder or a learner's copy")
	checkResult = flag.String("lesson.result", "", "where TestCheck writes its Result, as JSON")
)

// TestCheck is `make check` (cmd/workshop runs it with the flags above):
// it runs Run and writes the Result for the command to show. A broken
// promise is the learner's to fix, not a failure of this test; it fails
// when the check itself cannot run. Without the flags (go test ./...) it
// has nothing to check.
func TestCheck(t *testing.T) {
	if *checkStep == 0 {
		t.Skip("run by make check STEP=N DIR=path")
	}
	result := Run(t, *checkStep, *checkDir)
	data, err := json.Marshal(result)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*checkResult, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
