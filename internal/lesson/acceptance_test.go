package lesson_test

import (
	"crypto/rand"
	"encoding/hex"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// What an unchanged copy of the step before must be told, for each lesson:
// every part must be in one of the problems ("a | b": either).
var previousStepIsTold = map[int][]string{
	3: {"the answer has no X-Trace-Id header", `Jaeger got no span "GET /git/{owner}/{repo}"`},
	4: {"no span for the GitHub call (fetchContributorStats)", "no span for counting the commits"},
	5: {"no tag repo", `no log "contributors"`, `no log event="waiting for the login index lock"`},
	6: {"step 6 runs 3 programs, each in a folder of its own: gateway/, contributors/, cleaner/"},
	// Today step 6's contributors and cleaner do not trace at all; once
	// they trace on their own, their spans start traces of their own. The
	// lesson teaches either way.
	7: {
		"no span of the contributors service in Jaeger at all | the contributors service's span starts a new trace",
		"no span of the cleaner in Jaeger at all | the cleaner's span starts a new trace: is the span context in the message?",
		`no span "fetchStats"`, "has no tag caller.trace_id",
	},
	8: {`no tag requested_by (want "alice")`},
	9: {"step 9 reports with OpenTelemetry's SDK"},
	// Step 9 traces the same requests with the bridge: its spans are there,
	// with OpenTracing's tags and hand-written names.
	10: {
		`gateway span "GET /git/{owner}/{repo}" has no tag http.request.method (want "GET")`,
		`no client span "HTTP GET" in the gateway for its call to the contributors service`,
		`cleaner span "cleanJob" has no tag messaging.destination.name`,
	},
}

// TestEveryLessonHoldsForItsStepAndNotTheStepBefore is make check's
// promise: each step's own code passes its lesson, and an unchanged copy
// of the step before (the start of its exercise) fails it, being told
// what to do.
func TestEveryLessonHoldsForItsStepAndNotTheStepBefore(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lesson.All() {
		t.Run("step "+strconv.Itoa(l.Step), func(t *testing.T) {
			step, err := topology.Find(l.Step)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("its own code passes", func(t *testing.T) {
				stepsuite.Test(t, l.Step, filepath.Join(root, step.Dir))
			})
			t.Run("a copy of the step before fails", func(t *testing.T) {
				e, err := lesson.FindExercise(strconv.Itoa(l.Step))
				if err != nil {
					t.Fatal(err)
				}
				dir := testCopy(t, root, e)
				result := stepsuite.Run(t, l.Step, filepath.Join(root, dir))
				all := strings.Join(result.Problems, "\n")
				for _, want := range previousStepIsTold[l.Step] {
					if !slices.ContainsFunc(strings.Split(want, " | "), func(s string) bool { return strings.Contains(all, s) }) {
						t.Errorf("no problem says %q; the problems:\n%s", want, all)
					}
				}
				if len(previousStepIsTold[l.Step]) == 0 {
					t.Errorf("no teaching message to expect for step %d: add it to previousStepIsTold", l.Step)
				}
			})
		})
	}
}

// What an unchanged copy of the step before must be told, for the steps
// whose lesson is Jaeger's configs, checked on its processes.
var previousConfigsAreTold = map[int][]string{
	11: {"no storage.yaml", "no collector.yaml", "no query.yaml"},
	12: {"keeps 100 of 100 ordinary traces"},
}

// TestEveryConfigLessonHoldsForItsStepAndNotTheStepBefore is make check's
// promise for steps 11 on: each step's own Jaeger configs pass, and an
// unchanged copy of the step before (make exercise's) fails, being told
// what to do.
func TestEveryConfigLessonHoldsForItsStepAndNotTheStepBefore(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	binary, err := jaeger.ForChecks(t.Context(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range topology.Steps() {
		if step.JaegerRoles == "" {
			continue
		}
		t.Run("step "+strconv.Itoa(step.Number), func(t *testing.T) {
			problems, err := jaeger.CheckStep(t.Context(), binary, step.Number, filepath.Join(root, step.JaegerRoles))
			if err != nil || len(problems) > 0 {
				t.Errorf("step %d's own configs: %v %q", step.Number, err, problems)
			}
			e, err := lesson.FindExercise(strconv.Itoa(step.Number))
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(root, testCopy(t, root, e), filepath.Base(step.JaegerRoles))
			problems, err = jaeger.CheckStep(t.Context(), binary, step.Number, dir)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(problems, "\n")
			for _, want := range previousConfigsAreTold[step.Number] {
				if !strings.Contains(all, want) {
					t.Errorf("no problem says %q; the problems:\n%s", want, all)
				}
			}
			if len(previousConfigsAreTold[step.Number]) == 0 {
				t.Errorf("no teaching message to expect for step %d: add it to previousConfigsAreTold", step.Number)
			}
		})
	}
}

// testCopy copies e's step as make exercise does, into a folder of the
// test's own under _exercises (a learner's own copies are left alone),
// and removes it when the test ends. It returns the copy's path from root.
func testCopy(t *testing.T, root string, e lesson.Exercise) string {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	top := filepath.Join(lesson.ExercisesDir, "test-"+hex.EncodeToString(b))
	t.Cleanup(func() { os.RemoveAll(filepath.Join(root, top)) })
	dir := filepath.Join(top, filepath.Base(e.Dir()))
	if err := lesson.Copy(root, e, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrokenPropagationIsTold: a copy of step 7 whose gateway injects its
// span context nowhere, neither in the HTTP headers nor in the message:
// the other services' spans start traces of their own, in Jaeger, and
// the check says where the context was lost.
func TestBrokenPropagationIsTold(t *testing.T) {
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	e, err := lesson.FindExercise("propagation")
	if err != nil {
		t.Fatal(err)
	}
	dir := testCopy(t, root, e)
	gateway := filepath.Join(root, dir, "gateway")
	files, err := filepath.Glob(filepath.Join(gateway, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	removed := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, ".Inject(") {
				removed++
				continue
			}
			kept = append(kept, line)
		}
		if err := os.WriteFile(file, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if removed != 2 {
		t.Fatalf("removed %d lines calling .Inject( from step 7's gateway, want 2 (HTTP and the queue): update this test", removed)
	}
	result := stepsuite.Run(t, 7, filepath.Join(root, dir))
	all := strings.Join(result.Problems, "\n")
	for _, want := range []string{
		"the contributors service's span starts a new trace: did the gateway inject its span context into the request's headers",
		"the cleaner's span starts a new trace: is the span context in the message?",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem says %q; the problems:\n%s", want, all)
		}
	}
	if len(result.Problems) != 2 {
		t.Errorf("%d problems, want the 2 lost contexts alone:\n%s", len(result.Problems), all)
	}
}
