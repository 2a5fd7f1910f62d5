package stepsuite

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

// Options change how Start runs a step's programs.
type Options struct {
	// Env is added to every program's environment, after what the step
	// and its lesson need.
	Env map[string]string
	// ProgramEnv is added to one program's environment, last: by name
	// ("cleaner"; a one-program step's is "stepN").
	ProgramEnv map[string]map[string]string
	// GitHubURL is a GitHub of the test's own; "" starts the stand-in.
	GitHubURL string
}

// Stack is a step started through internal/infra/stack for a test, against the
// test binary's Jaeger, and stopped when the test ends. Its handles fail
// the test rather than return errors (internal/testkit/e2e).
type Stack struct {
	Step   topology.Step
	Jaeger *jaeger.Instance // nil for a step that does not trace
	// JaegerUI is the programs' JAEGER_UI, the base of their trace links.
	JaegerUI string
	URL      string                  // the public program's base URL
	Programs map[string]*e2e.Process // by name: "gateway", "contributors", "cleaner"; "step3"
	URLs     map[string]string       // each program's base URL, by name
	Redis    *e2e.RedisServer        // nil for a step without Redis
	// GitHub is the stand-in the programs call, which records their
	// requests; nil when Options.GitHubURL named another.
	GitHub *fakegithub.Server

	*lesson.Checker
}

// Start builds the programs of step n from dir, the step's own directory
// or a learner's copy of it, and starts them; it returns once each answers
// its /healthz. A program that dir lacks is a problem it returns (the
// stack is then nil); anything else that fails fails t.
func Start(t testing.TB, n int, dir string, opts Options) (*Stack, []string) {
	t.Helper()
	step, err := topology.Find(n)
	if err != nil {
		t.Fatal(err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		t.Fatal(err)
	}
	so := lesson.StackOptions(n, dir)
	maps.Copy(so.Env, opts.Env)
	so.ProgramEnv, so.GitHubURL = opts.ProgramEnv, opts.GitHubURL
	// Each folder's programs are built once per test binary, apart.
	sum := sha256.Sum256([]byte(dir))
	so.BinDir = filepath.Join(e2e.BinDir(t), hex.EncodeToString(sum[:6]))
	var shared *jaeger.Instance
	if step.NeedsJaeger() {
		shared = e2e.Jaeger(t)
		so.Jaeger = &stack.Jaeger{QueryURL: shared.QueryURL, CollectorEndpoint: shared.CollectorEndpoint, OTLPEndpoint: shared.OTLPEndpoint}
	}
	s, err := stack.Start(t.Context(), step, so)
	var missing *stack.MissingError
	if errors.As(err, &missing) {
		return nil, []string{missing.Msg}
	}
	if err != nil {
		t.Fatalf("step %d: %v", n, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping step %d: %v", n, err)
		}
		if t.Failed() {
			for name, p := range s.Programs {
				t.Logf("output of %s:\n%s", name, p.Output())
			}
		}
	})
	ts := &Stack{Step: step, Jaeger: shared, JaegerUI: s.JaegerUI, URL: s.URL, URLs: s.URLs,
		Programs: map[string]*e2e.Process{}, Checker: lesson.NewChecker(s)}
	for name, p := range s.Programs {
		ts.Programs[name] = &e2e.Process{Process: p}
	}
	if s.Redis != nil {
		ts.Redis = &e2e.RedisServer{Redis: s.Redis}
	}
	if s.GitHub != nil {
		ts.GitHub = s.GitHub.Server
	}
	return ts, nil
}

// programDir returns the folder of step n's program named name ("gateway")
// in dir, the step's folder or a copy of it.
func programDir(t testing.TB, n int, dir, name string) string {
	t.Helper()
	step, err := topology.Find(n)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range step.Programs {
		if stack.Name(step, p) == name {
			return filepath.Join(dir, strings.TrimPrefix(p.Package, "./"+step.Dir))
		}
	}
	t.Fatalf("step %d has no program %s", n, name)
	return ""
}

// Public returns the step's public program (the gateway).
func (s *Stack) Public() *e2e.Process {
	for _, p := range s.Step.Programs {
		if p.Public {
			return s.Programs[stack.Name(s.Step, p)]
		}
	}
	return nil
}

// Test checks the programs of step n, built from dir, against the step's
// lesson, as make check does (Run), against the test binary's Jaeger, and
// fails t with each problem.
func Test(t *testing.T, n int, dir string) {
	t.Helper()
	result := Run(t, n, dir)
	for _, problem := range result.Problems {
		t.Error(problem)
	}
	if t.Failed() {
		t.Logf("the traces:\n%s", strings.Join(result.Traces, "\n"))
	}
}

// Run is lesson.Run against the test binary's Jaeger; a check that cannot
// run fails t.
func Run(t testing.TB, n int, dir string) lesson.Result {
	t.Helper()
	var j *stack.Jaeger
	if step, err := topology.Find(n); err == nil && step.NeedsJaeger() {
		shared := e2e.Jaeger(t)
		j = &stack.Jaeger{QueryURL: shared.QueryURL, CollectorEndpoint: shared.CollectorEndpoint, OTLPEndpoint: shared.OTLPEndpoint}
	}
	result, err := lesson.Run(t.Context(), n, dir, j)
	if err != nil {
		t.Fatalf("checking step %d in %s: %v", n, dir, err)
	}
	return result
}

// Check sends r to the stack's public program, reads the request's trace
// back from Jaeger, and checks it against r's promise. It returns the
// problems and the trace, drawn.
func (s *Stack) Check(t testing.TB, r lesson.Request) (problems []string, tree string) {
	t.Helper()
	problems, tree, err := s.Checker.Check(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return problems, tree
}

// send is Checker.Send for a test.
func (s *Stack) send(t testing.TB, r lesson.Request) lesson.Sent {
	t.Helper()
	out, err := s.Checker.Send(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkTrace is Checker.CheckTrace for a test.
func (s *Stack) checkTrace(t testing.TB, r lesson.Request, sent lesson.Sent) ([]string, jaeger.Trace) {
	t.Helper()
	problems, trace, err := s.Checker.CheckTrace(t.Context(), r, sent)
	if err != nil {
		t.Fatal(err)
	}
	return problems, trace
}

// getT is get for a test.
func getT(t testing.TB, url string, header http.Header) (int, http.Header, string) {
	t.Helper()
	status, answer, body, err := lesson.Get(t.Context(), url, header)
	if err != nil {
		t.Fatal(err)
	}
	return status, answer, body
}
