package lesson

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/topology"
	"github.com/tracing-tutorial/tutorial/internal/tracetest"
)

const (
	// flushInterval is the programs' JAEGER_REPORTER_FLUSH_INTERVAL: spans
	// reach Jaeger this soon after they finish.
	flushInterval = 100 * time.Millisecond
	// settle is how long a trace that lacks promised spans must stay the
	// same before the check gives up waiting for them: well over the
	// flush interval, so that a span still on its way is not missed.
	settle       = 2 * time.Second
	traceTimeout = 10 * time.Second
	// runTag is a tracer tag (JAEGER_TAGS) that tells this run's spans
	// from other runs' in a shared Jaeger.
	runTag = "workshop.run"
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

// Stack is a step's programs running against the stand-in GitHub, a real
// Jaeger and a real Redis where the step needs them, all stopped when the
// test ends.
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
	run    string // runTag's value
	since  time.Time
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
	dir, err = filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	packages := map[string]string{} // by topology service
	var missing []string
	for _, p := range step.Programs {
		pkg := packageIn(step, dir, p)
		if !hasGo(pkg) {
			missing = append(missing, strings.TrimPrefix(strings.TrimPrefix(pkg, dir), "/")+"/")
		}
		packages[p.Service] = pkg
	}
	if missing != nil {
		return nil, []string{missingPrograms(step, dir, missing)}
	}

	s := &Stack{Step: step, Programs: map[string]*e2e.Process{}, URLs: map[string]string{}, run: randomHex(8), since: time.Now()}
	githubURL := opts.GitHubURL
	if githubURL == "" {
		s.GitHub, githubURL = e2e.GitHub(t, fakegithub.Options{})
	}
	addresses := map[string]string{topology.GitHub: hostOf(t, githubURL)}
	if step.NeedsJaeger() {
		s.Jaeger = e2e.Jaeger(t)
		addresses[topology.JaegerCollector] = hostOf(t, s.Jaeger.CollectorEndpoint)
		addresses[topology.JaegerOTLP] = hostOf(t, s.Jaeger.OTLPEndpoint)
		// The all-in-one serves no sampling strategies (step 12's remote
		// sampler): nothing listens there, and the SDK keeps its initial
		// rate, every trace.
		addresses[topology.JaegerSampling] = "127.0.0.1:1"
		s.JaegerUI = s.Jaeger.QueryURL
	}
	if step.NeedsRedis() {
		s.Redis = e2e.Redis(t)
		addresses[topology.Redis] = s.Redis.Addr()
	}
	lesson, _ := For(n) // steps 1-2 have none

	// A program starts once the programs it calls listen: their addresses
	// are in its environment.
	pending := slices.Clone(step.Programs)
	for len(pending) > 0 {
		started := false
		for i, p := range pending {
			env, err := topology.Resolve(p.Env, func(name string) (string, bool) {
				addr, ok := addresses[name]
				return addr, ok
			})
			if err != nil {
				continue // waits for another program
			}
			env["HOST"] = "127.0.0.1"
			env["BAD_THINGS"] = "off"
			if _, traced := env["JAEGER_ENDPOINT"]; traced {
				env["JAEGER_REPORTER_FLUSH_INTERVAL"] = flushInterval.String()
				env["JAEGER_TAGS"] = runTag + "=" + s.run
				env["JAEGER_UI"] = s.JaegerUI
			}
			if _, traced := env["OTEL_EXPORTER_OTLP_ENDPOINT"]; traced { // steps 9 on: OpenTelemetry's SDK
				env["OTEL_BSP_SCHEDULE_DELAY"] = fmt.Sprint(flushInterval.Milliseconds())
				env["OTEL_RESOURCE_ATTRIBUTES"] = runTag + "=" + s.run
				env["JAEGER_UI"] = s.JaegerUI
			}
			for k, v := range lesson.Env {
				env[k] = v
			}
			for k, v := range opts.Env {
				env[k] = v
			}
			name := strings.TrimPrefix(p.Service, step.Profile()+"-")
			for k, v := range opts.ProgramEnv[name] {
				env[k] = v
			}
			process, port := e2e.StartOnFreePort(t, name, e2e.Build(t, packages[p.Service]), env, "PORT")
			address := net.JoinHostPort("127.0.0.1", fmt.Sprint(port))
			process.WaitHealthy(t, "http://"+address+"/healthz")
			addresses[p.Service] = address
			s.Programs[name] = process
			s.URLs[name] = "http://" + address
			if p.Public {
				s.URL = "http://" + address
			}
			pending = slices.Delete(pending, i, i+1)
			started = true
			break
		}
		if !started {
			t.Fatalf("step %d: programs wait for each other: %v", n, pending)
		}
	}
	return s, nil
}

// packageIn returns where program p of step is in dir, the step's folder
// or a copy of it.
func packageIn(step topology.Step, dir string, p topology.Program) string {
	return filepath.Join(dir, strings.TrimPrefix(p.Package, "./"+step.Dir))
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
		if strings.TrimPrefix(p.Service, step.Profile()+"-") == name {
			return packageIn(step, dir, p)
		}
	}
	t.Fatalf("step %d has no program %s", n, name)
	return ""
}

// Public returns the step's public program (the gateway).
func (s *Stack) Public() *e2e.Process {
	for _, p := range s.Step.Programs {
		if p.Public {
			return s.Programs[strings.TrimPrefix(p.Service, s.Step.Profile()+"-")]
		}
	}
	return nil
}

func hasGo(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".go") && !strings.HasSuffix(e.Name(), "_test.go") {
			return true
		}
	}
	return false
}

func missingPrograms(step topology.Step, dir string, missing []string) string {
	if len(step.Programs) == 1 {
		return fmt.Sprintf("no Go program in %s", dir)
	}
	var all []string
	for _, p := range step.Programs {
		all = append(all, filepath.Base(p.Package)+"/")
	}
	return fmt.Sprintf("%s has no %s: step %d runs %d programs, each in a folder of its own: %s (step %d's README shows the split)",
		dir, strings.Join(missing, ", "), step.Number, len(all), strings.Join(all, ", "), step.Number)
}

func hostOf(t testing.TB, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	b[0] |= 0x10 // no leading zero: Jaeger would drop it
	return hex.EncodeToString(b)
}

// Result is what Run found.
type Result struct {
	Lesson   Lesson   `json:"-"`
	Problems []string // each broken promise, saying what to do; none if the lesson holds
	Traces   []string // each request's trace, drawn
}

// Run checks the programs of step n, built from dir, against the step's
// lesson: it starts them, sends the lesson's requests, and reads their
// traces back from Jaeger.
func Run(t testing.TB, n int, dir string) Result {
	t.Helper()
	lesson, err := For(n)
	if err != nil {
		t.Fatal(err)
	}
	result := Result{Lesson: lesson}
	stack, problems := Start(t, n, dir, Options{})
	if problems != nil {
		result.Problems = problems
		return result
	}
	for _, r := range lesson.Requests {
		problems, tree := stack.Check(t, r)
		result.Problems = append(result.Problems, problems...)
		result.Traces = append(result.Traces, tree)
	}
	// A program that does not exit cleanly on SIGTERM is a problem too.
	for _, name := range slices.Sorted(maps.Keys(stack.Programs)) {
		if err := stack.Programs[name].Stop(); err != nil {
			result.Problems = append(result.Problems, fmt.Sprintf("%s did not stop cleanly on SIGTERM: %v", name, err))
		}
	}
	return result
}

// Test checks the programs of step n, built from dir, against the step's
// lesson, as Run does, and fails t with each problem.
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

// Check sends r to the stack's public program, reads the request's trace
// back from Jaeger, and checks it against r's promise. It returns the
// problems and the trace, drawn.
func (s *Stack) Check(t testing.TB, r Request) (problems []string, tree string) {
	t.Helper()
	sent := s.send(t, r)
	problems, trace := s.checkTrace(t, r, sent)
	for _, l := range r.Logged {
		if !s.logs(l.Program, l.Text) {
			problems = append(problems, l.Missing)
		}
	}
	return problems, tracetest.JaegerTree(trace)
}

// sent is a request sent, and what its answer says.
type sent struct {
	traceID     string // the answer's X-Trace-Id
	clientTrace string // the trace ID of the check's own trace context
	problems    []string
}

func (s *Stack) send(t testing.TB, r Request) sent {
	t.Helper()
	var out sent
	header := http.Header{}
	for k, v := range r.Header {
		header.Set(k, v)
	}
	if r.FromClient {
		out.clientTrace = randomHex(16)
		header.Set("Uber-Trace-Id", out.clientTrace+":"+randomHex(8)+":0:1")
	}
	status, answer, body := get(t, s.URL+r.Path, header)
	if status != r.Status {
		out.problems = append(out.problems, fmt.Sprintf("GET %s answered %d, want %d: %s", r.Path, status, r.Status, strings.TrimSpace(body)))
	}
	out.traceID = answer.Get("X-Trace-Id")
	if out.traceID == "" {
		out.problems = append(out.problems, "the answer has no X-Trace-Id header: set it to the trace ID of the request's span "+
			"(jaeger-client-go: span.Context().(jaeger.SpanContext).TraceID().String(); OpenTelemetry: "+
			"trace.SpanFromContext(ctx).SpanContext().TraceID().String()), so that a slow answer leads straight to its trace")
	}
	return out
}

// checkTrace reads the trace of a request sent back from Jaeger and checks
// it against r's promise; it returns the problems and the trace (empty if
// Jaeger has none).
func (s *Stack) checkTrace(t testing.TB, r Request, sent sent) (problems []string, trace jaeger.Trace) {
	t.Helper()
	problems = sent.problems
	ctx, cancel := context.WithTimeout(context.Background(), traceTimeout)
	defer cancel()
	client := s.Jaeger.Client()
	traceID := sent.traceID
	if traceID == "" {
		if traceID = s.latest(ctx, r); traceID == "" {
			return append(problems, missing(r.Spans[0], nil)), jaeger.Trace{}
		}
	}
	trace, err := s.waitForTrace(ctx, traceID, r)
	if errors.Is(err, jaeger.ErrNotFound) {
		return append(problems, fmt.Sprintf("Jaeger has no trace %s, the answer's X-Trace-Id: %s", traceID, missing(r.Spans[0], nil))), jaeger.Trace{}
	}
	if err != nil {
		t.Fatalf("reading trace %s from Jaeger: %v", traceID, err)
	}
	elsewhere := func(service, operation string) bool {
		traces, err := client.Find(ctx, service, operation, s.since)
		if err != nil {
			t.Logf("asking Jaeger for %s's %q spans: %v", service, operation, err)
		}
		for _, other := range traces {
			if !sameTrace(other.TraceID, trace.TraceID) && s.hasOwn(other, service, operation) {
				return true
			}
		}
		return false
	}
	problems = append(problems, r.Check(trace, sent.clientTrace, elsewhere)...)
	if lesson, _ := For(s.Step.Number); lesson.LogsTraceLink && sent.traceID != "" && !s.logsLink(traceID) {
		problems = append(problems, fmt.Sprintf("the request's log line has no link to its trace (trace=%s/trace/%s): "+
			"log it, so that a slow request in the log leads to its trace", s.JaegerUI, traceID))
	}
	return problems, trace
}

// waitForTrace waits until the trace holds every span r promises, or has
// not changed for a while: a span that never comes is a problem to report,
// not to wait for.
func (s *Stack) waitForTrace(ctx context.Context, traceID string, r Request) (jaeger.Trace, error) {
	var last jaeger.Trace
	var lastChange time.Time
	_, err := s.Jaeger.Client().WaitForTrace(ctx, traceID, func(trace jaeger.Trace) bool {
		if len(trace.Spans) != len(last.Spans) {
			lastChange = time.Now()
		}
		last = trace
		return r.Complete(trace) || time.Since(lastChange) > settle
	})
	if errors.Is(err, jaeger.ErrNotFound) || (err != nil && last.TraceID == "") {
		return last, jaeger.ErrNotFound
	}
	if err != nil && len(last.Spans) > 0 {
		return last, nil // incomplete when time ran out: check what is there
	}
	return last, err
}

// latest finds the trace of a request that did not say its trace ID: the
// newest of this run with r's first span.
func (s *Stack) latest(ctx context.Context, r Request) string {
	first := r.Spans[0]
	deadline := time.Now().Add(settle)
	for {
		traces, _ := s.Jaeger.Client().Find(ctx, first.Service, first.Operation, s.since)
		for _, trace := range traces {
			if s.hasOwn(trace, first.Service, first.Operation) {
				return trace.TraceID
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hasOwn reports whether trace has a span of service named operation that
// a program of this run reported.
func (s *Stack) hasOwn(trace jaeger.Trace, service, operation string) bool {
	for _, span := range trace.Spans {
		if span.OperationName != operation || trace.ServiceName(span) != service {
			continue
		}
		for _, tag := range trace.Processes[span.ProcessID].Tags {
			if tag.Key == runTag && fmt.Sprint(tag.Value) == s.run {
				return true
			}
		}
	}
	return false
}

// logsLink reports whether the public program logged a link to the trace.
func (s *Stack) logsLink(traceID string) bool {
	return s.logsFrom(s.Public(), "trace="+s.JaegerUI+"/trace/"+traceID)
}

// logs reports whether the program named name logged text.
func (s *Stack) logs(name, text string) bool {
	p, ok := s.Programs[name]
	return ok && s.logsFrom(p, text)
}

// logsFrom reports whether p logged text; it waits a little, as a log line
// may follow the answer.
func (s *Stack) logsFrom(p *e2e.Process, text string) bool {
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(25 * time.Millisecond) {
		if strings.Contains(p.Output(), text) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func sameTrace(a, b string) bool {
	return strings.TrimLeft(strings.ToLower(a), "0") == strings.TrimLeft(strings.ToLower(b), "0")
}

func get(t testing.TB, url string, header http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, resp.Header, string(body)
}
