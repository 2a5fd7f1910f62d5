// Command workshop starts and checks the workshop's exercises:
//
//	go run ./cmd/workshop exercise 4          # make exercise STEP=4
//	go run ./cmd/workshop exercise -reset 4   # make exercise STEP=4 RESET=1: start over
//	go run ./cmd/workshop check 4 _exercises/step4   # make check STEP=4 DIR=_exercises/step4
//
// An exercise is a copy of the step before, in _exercises/ (git ignores
// it), to write the next step's lesson into. The check builds the code,
// runs it against the stand-in GitHub, a real Jaeger and Redis where the
// step needs them, reads the trace back from Jaeger and holds it to the
// step's lesson (internal/lesson), which the step's own tests hold its
// code to as well.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

const usage = `usage:
  workshop exercise [-reset] STEP   copy the step before STEP into _exercises/, to write STEP's lesson
  workshop check STEP DIR           check the code in DIR against STEP's lesson
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command with args (without the program's name) and returns
// its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && args[0] == "exercise":
		// make exercise without STEP: a question, not a mistake.
		listExercises(stdout)
		return 0
	case len(args) >= 2 && args[0] == "exercise":
		reset := args[1] == "-reset"
		if reset {
			args = args[1:]
		}
		if len(args) != 2 {
			fmt.Fprint(stderr, usage)
			return 2
		}
		return exercise(stdout, args[1], "", reset)
	case len(args) == 2 && args[0] == "check":
		fmt.Fprintf(stderr, "workshop: which code? make check STEP=%s DIR=_exercises/step%s (or a step's own folder)\n", args[1], args[1])
		return 2
	case len(args) == 3 && args[0] == "check":
		return check(stdout, args[1], args[2])
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
}

// listExercises says which exercises there are, for a make exercise
// without STEP.
func listExercises(w io.Writer) {
	fmt.Fprintln(w, "Which exercise? make exercise STEP=…, one of:")
	for _, e := range lesson.Exercises() {
		title := e.Title
		if l, err := lesson.For(e.Check); title == "" && err == nil {
			title = l.Title
		}
		fmt.Fprintf(w, "  %-12s %s (about %d minutes)\n", e.Name, title, e.Minutes)
	}
}

// exercise copies the exercise's step into dir (from the tutorial's root;
// "" for the exercise's own, _exercises/stepN) and says what to do.
func exercise(w io.Writer, name, dir string, reset bool) int {
	e, err := lesson.FindExercise(name)
	if err != nil {
		fmt.Fprintln(w, "workshop:", err)
		return 2
	}
	root, err := paths.Root(".")
	if err != nil {
		fmt.Fprintln(w, "workshop:", err)
		return 1
	}
	if dir == "" {
		dir = e.Dir()
	}
	if reset {
		if err := os.RemoveAll(filepath.Join(root, dir)); err != nil {
			fmt.Fprintln(w, "workshop:", err)
			return 1
		}
	}
	err = lesson.Copy(root, e, dir)
	if errors.Is(err, lesson.ErrExists) {
		fmt.Fprintf(w, "%s/ exists already: carry on there, or start over with make exercise STEP=%s RESET=1 (that throws your changes away).\n", dir, e.Name)
		return 1
	}
	if err != nil {
		fmt.Fprintln(w, "workshop:", err)
		return 1
	}
	from, _ := topology.Find(e.From)
	l, _ := lesson.For(e.Check)
	files, err := lesson.StartIn(root, e)
	if err != nil {
		fmt.Fprintln(w, "workshop:", err)
		return 1
	}
	title := e.Title
	if title == "" {
		title = l.Title
	}
	fmt.Fprintf(w, "Exercise %s: %s (about %d minutes)\n\n", e.Name, title, e.Minutes)
	fmt.Fprintf(w, "Your copy of step %d (%s) is in %s/ (git ignores it).\n\n", e.From, from.Dir, dir)
	fmt.Fprintf(w, "What to do:\n%s\n", indent(e.Task, "  "))
	fmt.Fprintf(w, "Start in:\n")
	for _, f := range files {
		fmt.Fprintf(w, "  %s\n", filepath.Join(dir, f))
	}
	fmt.Fprintf(w, "\nCheck your work (it builds your code, runs it with Jaeger and reads the trace back):\n  make check STEP=%d DIR=%s\n", e.Check, dir)
	fmt.Fprintln(w)
	if e.From != e.Check {
		fmt.Fprintf(w, "Stuck? The lines that matter: docs/workshop.md#exercise-%d; all of our answer: make diff FROM=%d TO=%d.\n", e.Check, e.From, e.Check)
	}
	fmt.Fprintf(w, "Start over: make exercise STEP=%s RESET=1.\n", e.Name)
	return 0
}

// check checks the code in dir against step's lesson with lesson.Run,
// which the steps' own tests use too: it starts Jaeger, Redis, the
// stand-in GitHub and the programs (internal/infra/stack), and stops them all.
func check(w io.Writer, step, dir string) int {
	n, err := strconv.Atoi(step)
	if err != nil {
		fmt.Fprintf(w, "workshop: STEP=%q is not a step number\n", step)
		return 2
	}
	// From step 11 the lesson is Jaeger's deployment: its role configs,
	// checked on Jaeger's own processes, not a trace's shape.
	step11, _ := topology.Find(n)
	l, err := lesson.For(n)
	if err != nil && step11.JaegerRoles == "" {
		fmt.Fprintln(w, "workshop:", err)
		return 2
	}
	root, err := paths.Root(".")
	if err != nil {
		fmt.Fprintln(w, "workshop:", err)
		return 1
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		fmt.Fprintln(w, "workshop:", err)
		return 1
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		fmt.Fprintf(w, "workshop: DIR=%s is outside the tutorial (%s): your code must be inside it, in _exercises/ say, to build\n", dir, root)
		return 2
	}
	if _, err := os.Stat(abs); err != nil {
		fmt.Fprintf(w, "workshop: DIR=%s: %v (make exercise STEP=%d makes the exercise's folder)\n", dir, err, n)
		return 2
	}
	start := time.Now()
	if step11.JaegerRoles != "" {
		return checkRoles(w, step11, filepath.Join(abs, filepath.Base(step11.JaegerRoles)), rel, dir, start)
	}
	fmt.Fprintf(w, "Checking %s against step %d's lesson: %s.\n", rel, n, l.Title)

	// Only to say early and plainly that it does not build.
	build := exec.Command("go", "build", "-o", os.DevNull, "./"+filepath.ToSlash(rel)+"/...")
	build.Dir = root
	if output, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(w, "\nYour code does not build:\n%s\nFAIL: fix what go build says, then run make check STEP=%d DIR=%s again.\n", indent(string(output), "  "), n, dir)
		return 1
	}

	if s, _ := topology.Find(n); s.NeedsRedis() {
		if _, err := exec.LookPath("redis-server"); err != nil {
			fmt.Fprintf(w, "\nStep %d needs redis-server, which is not installed: scripts/install-redis says how to install it on this laptop (make deps installs it).\n", n)
			return 1
		}
	}

	// JAEGER_BINARY (the dev container's), or built once per machine; the
	// first build takes minutes, and says so.
	if _, err := jaeger.ForChecks(context.Background(), w); err != nil {
		fmt.Fprintf(w, "workshop: no Jaeger: %v\n", err)
		return 1
	}
	fmt.Fprintf(w, "Starting it with Jaeger and the stand-in GitHub")
	if s, _ := topology.Find(n); s.NeedsRedis() {
		fmt.Fprintf(w, " and Redis")
	}
	fmt.Fprintf(w, ", sending its requests, reading the traces back…\n")
	result, err := lesson.Run(context.Background(), n, abs, nil)
	if err != nil {
		fmt.Fprintf(w, "\nThe check could not run your code; what it saw:\n%s\n", indent(proc.LastLines(err.Error(), 60), "  "))
		fmt.Fprintf(w, "FAIL: fix what is above (your programs' logs are there), then run make check STEP=%d DIR=%s again.\n", n, dir)
		return 1
	}

	for i, r := range l.Requests {
		if i < len(result.Traces) && result.Traces[i] != "" {
			sentWith := ""
			if r.FromClient {
				sentWith = ", sent with a trace context of the check's own, from outside (the gateway starts a new trace and names the check's in caller.trace_id)"
			}
			fmt.Fprintf(w, "\nThe trace of GET %s%s:\n%s", r.Path, sentWith, indent(result.Traces[i], "  "))
		}
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	if len(result.Problems) > 0 {
		fmt.Fprintf(w, "\nWhat step %d's lesson promises and your code does not do yet:\n", n)
		for i, p := range result.Problems {
			fmt.Fprintf(w, "%2d. %s\n", i+1, p)
		}
		fmt.Fprintf(w, "\nFAIL (%s): fix these, then run make check STEP=%d DIR=%s again.\n", took, n, dir)
		fmt.Fprintf(w, "Stuck? The lines that matter: docs/workshop.md#exercise-%d; all of our answer: make diff FROM=%d TO=%d.\n", n, n-1, n)
		return 1
	}
	fmt.Fprintf(w, "\nPASS (%s): your code keeps step %d's promise.\n", took, n)
	sayNext(w, n)
	return 0
}

// checkRoles holds the Jaeger role configs in configs (storage.yaml,
// collector.yaml, query.yaml) to step's promises (jaeger.CheckRoles).
func checkRoles(w io.Writer, step topology.Step, configs, rel, dir string, start time.Time) int {
	n := step.Number
	fmt.Fprintf(w, "Checking %s against step %d's lesson: Jaeger as its roles, from %s.\n", rel, n, filepath.Join(rel, filepath.Base(configs)))
	binary, err := jaeger.Binary(context.Background(), w)
	if err != nil {
		fmt.Fprintf(w, "workshop: no Jaeger: %v\n", err)
		return 1
	}
	doing := "writing traces, restarting storage, killing query"
	if n >= 12 { // sampling
		doing = "sending failed, slow and ordinary traces, reading back what the tail sampler kept"
	}
	fmt.Fprintf(w, "Starting storage, the collector and query; %s…\n", doing)
	problems, err := jaeger.CheckStep(context.Background(), binary, n, configs)
	if err != nil {
		fmt.Fprintln(w, "workshop:", err)
		return 1
	}
	took := time.Since(start).Round(100 * time.Millisecond)
	if len(problems) > 0 {
		fmt.Fprintf(w, "\nWhat step %d's lesson promises and your configs do not do yet:\n", n)
		for i, p := range problems {
			fmt.Fprintf(w, "%2d. %s\n", i+1, p)
		}
		fmt.Fprintf(w, "\nFAIL (%s): fix these, then run make check STEP=%d DIR=%s again.\n", took, n, dir)
		fmt.Fprintf(w, "Stuck? Our answer: make diff FROM=%d TO=%d.\n", n-1, n)
		return 1
	}
	fmt.Fprintf(w, "\nPASS (%s): your configs keep step %d's promise.\n", took, n)
	sayNext(w, n)
	return 0
}

// sayNext says what comes after a check of step n that passed.
func sayNext(w io.Writer, n int) {
	if next, err := lesson.FindExercise(strconv.Itoa(n + 1)); err == nil {
		fmt.Fprintf(w, "Next: make exercise STEP=%s\n", next.Name)
	} else if step, err := topology.Find(n + 1); err == nil {
		fmt.Fprintf(w, "Next: step %d (%s), which has no exercise yet: make run STEP=%d\n", step.Number, step.Dir, step.Number)
	} else {
		fmt.Fprintf(w, "That was the last step. Try the propagation experiment: make exercise STEP=propagation\n")
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, line := range lines {
		lines[i] = prefix + line
	}
	return strings.Join(lines, "\n") + "\n"
}
