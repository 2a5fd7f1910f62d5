package lesson

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
)

// TraceTimeout bounds the wait for one request's trace.
const TraceTimeout = 10 * time.Second

// Result is what Run found.
type Result struct {
	Lesson   Lesson
	Problems []string // each broken promise, saying what to do; none if the lesson holds
	Traces   []string // each request's trace, drawn
}

// Run checks the programs of step n, built from dir (the step's folder or
// a learner's copy), against the step's lesson, as make check does: it
// starts them through internal/infra/stack with the Jaeger j (nil: one of its
// own, from jaeger.ForChecks), sends the lesson's requests, reads their
// traces back from Jaeger, and stops everything. A broken promise is a
// problem in the Result; an error is a check that could not run (the code
// does not start, say), with what the programs said.
func Run(ctx context.Context, n int, dir string, j *stack.Jaeger) (Result, error) {
	lesson, err := For(n)
	if err != nil {
		return Result{}, err
	}
	result := Result{Lesson: lesson}
	step, err := topology.Find(n)
	if err != nil {
		return result, err
	}
	opts := StackOptions(n, dir)
	opts.Jaeger = j
	s, err := stack.Start(ctx, step, opts)
	var missing *stack.MissingError
	if errors.As(err, &missing) {
		result.Problems = []string{missing.Msg}
		return result, nil
	}
	if err != nil {
		return result, err
	}
	defer s.Stop()
	c := NewChecker(s)
	for _, r := range lesson.Requests {
		problems, tree, err := c.Check(ctx, r)
		if err != nil {
			return result, err
		}
		result.Problems = append(result.Problems, problems...)
		result.Traces = append(result.Traces, tree)
	}
	// A program that does not exit cleanly on SIGTERM is a problem too.
	// They stop side by side: the cleaner's blocking read takes seconds.
	names := slices.Sorted(maps.Keys(s.Programs))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { errs[i] = s.Programs[name].Stop() })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			result.Problems = append(result.Problems, fmt.Sprintf("%s did not stop cleanly on SIGTERM: %v", names[i], err))
		}
	}
	return result, nil
}

// StackOptions are the stack's options for checking step n's lesson on
// the programs in dir: their misbehaviour switched off (BAD_THINGS), the
// lesson's Env, and a run tag that tells this run's spans from others'.
func StackOptions(n int, dir string) stack.Options {
	lesson, _ := For(n) // steps 1-2 have none
	env := map[string]string{"BAD_THINGS": "off"}
	maps.Copy(env, lesson.Env)
	return stack.Options{Dir: dir, Env: env, RunTag: stack.NewRunTag()}
}

// Checker holds a running stack to a lesson's requests.
type Checker struct {
	s     *stack.Stack
	Since time.Time // the spans of this run are no older
}

func NewChecker(s *stack.Stack) *Checker { return &Checker{s: s, Since: time.Now().Add(-time.Minute)} }

// Check sends r to the stack's public program, reads the request's trace
// back from Jaeger, and checks it against r's promise. It returns the
// problems and the trace, drawn.
func (c *Checker) Check(ctx context.Context, r Request) (problems []string, tree string, err error) {
	sent, err := c.Send(ctx, r)
	if err != nil {
		return nil, "", err
	}
	problems, trace, err := c.CheckTrace(ctx, r, sent)
	if err != nil {
		return nil, "", err
	}
	for _, l := range r.Logged {
		if !c.logs(l.Program, l.Text) {
			problems = append(problems, l.Missing)
		}
	}
	return problems, traceview.JaegerTree(trace), nil
}

// Sent is a request sent, and what its answer says.
type Sent struct {
	TraceID     string // the answer's X-Trace-Id
	ClientTrace string // the trace ID of the check's own trace context
	Problems    []string
}

func (c *Checker) Send(ctx context.Context, r Request) (Sent, error) {
	var out Sent
	header := http.Header{}
	for k, v := range r.Header {
		header.Set(k, v)
	}
	if r.FromClient {
		out.ClientTrace = stack.RandomHex(16)
		header.Set("Uber-Trace-Id", out.ClientTrace+":"+stack.RandomHex(8)+":0:1")
	}
	status, answer, body, err := Get(ctx, c.s.URL+r.Path, header)
	if err != nil {
		return out, err
	}
	if status != r.Status {
		out.Problems = append(out.Problems, fmt.Sprintf("GET %s answered %d, want %d: %s", r.Path, status, r.Status, strings.TrimSpace(body)))
	}
	out.TraceID = answer.Get("X-Trace-Id")
	if out.TraceID == "" {
		out.Problems = append(out.Problems, "the answer has no X-Trace-Id header: set it to the trace ID of the request's span "+
			"(jaeger-client-go: span.Context().(jaeger.SpanContext).TraceID().String(); OpenTelemetry: "+
			"trace.SpanFromContext(ctx).SpanContext().TraceID().String()), so that a slow answer leads straight to its trace")
	}
	return out, nil
}

// CheckTrace reads the trace of a request sent back from Jaeger and checks
// it against r's promise; it returns the problems and the trace (empty if
// Jaeger has none).
func (c *Checker) CheckTrace(ctx context.Context, r Request, sent Sent) ([]string, jaeger.Trace, error) {
	problems := sent.Problems
	ctx, cancel := context.WithTimeout(ctx, TraceTimeout)
	defer cancel()
	traceID := sent.TraceID
	if traceID == "" {
		if traceID = c.latest(ctx, r); traceID == "" {
			return append(problems, missing(r.Spans[0], nil)), jaeger.Trace{}, nil
		}
	}
	trace, err := c.waitForTrace(ctx, traceID, r)
	if errors.Is(err, jaeger.ErrNotFound) {
		return append(problems, fmt.Sprintf("Jaeger has no trace %s, the answer's X-Trace-Id: %s", traceID, missing(r.Spans[0], nil))), jaeger.Trace{}, nil
	}
	if err != nil {
		return nil, trace, fmt.Errorf("reading trace %s from Jaeger: %w", traceID, err)
	}
	elsewhere := func(service, operation string) bool {
		traces, _ := c.s.Jaeger.Client().Find(ctx, service, operation, c.Since)
		for _, other := range traces {
			if !SameTrace(other.TraceID, trace.TraceID) && c.HasOwn(other, service, operation) {
				return true
			}
		}
		return false
	}
	problems = append(problems, r.Check(trace, sent.ClientTrace, elsewhere)...)
	if lesson, _ := For(c.s.Step.Number); lesson.LogsTraceLink && sent.TraceID != "" && !c.logsLink(traceID) {
		problems = append(problems, fmt.Sprintf("the request's log line has no link to its trace (trace=%s/trace/%s): "+
			"log it, so that a slow request in the log leads to its trace", c.s.JaegerUI, traceID))
	}
	return problems, trace, nil
}

// waitForTrace waits until the trace holds every span r promises, or has
// not changed for stack.Settle: a span that never comes is a problem to
// report, not to wait for.
func (c *Checker) waitForTrace(ctx context.Context, traceID string, r Request) (jaeger.Trace, error) {
	var last jaeger.Trace
	var lastChange time.Time
	_, err := c.s.Jaeger.Client().WaitForTrace(ctx, traceID, func(trace jaeger.Trace) bool {
		if len(trace.Spans) != len(last.Spans) {
			lastChange = time.Now()
		}
		last = trace
		return r.Complete(trace) || time.Since(lastChange) > stack.Settle
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
func (c *Checker) latest(ctx context.Context, r Request) string {
	first := r.Spans[0]
	deadline := time.Now().Add(stack.Settle)
	for {
		traces, _ := c.s.Jaeger.Client().Find(ctx, first.Service, first.Operation, c.Since)
		for _, trace := range traces {
			if c.HasOwn(trace, first.Service, first.Operation) {
				return trace.TraceID
			}
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// HasOwn reports whether trace has a span of service named operation that
// a program of this run reported.
func (c *Checker) HasOwn(trace jaeger.Trace, service, operation string) bool {
	for _, span := range trace.Spans {
		if span.OperationName != operation || trace.ServiceName(span) != service {
			continue
		}
		for _, tag := range trace.Processes[span.ProcessID].Tags {
			if tag.Key == stack.RunTagKey && fmt.Sprint(tag.Value) == c.s.RunTag {
				return true
			}
		}
	}
	return false
}

// logsLink reports whether the public program logged a link to the trace.
func (c *Checker) logsLink(traceID string) bool {
	return logsFrom(c.s.Public(), "trace="+c.s.JaegerUI+"/trace/"+traceID)
}

// logs reports whether the program named name logged text.
func (c *Checker) logs(name, text string) bool {
	p, ok := c.s.Programs[name]
	return ok && logsFrom(p, text)
}

// logsFrom reports whether p logged text; it waits a little, as a log line
// may follow the answer.
func logsFrom(p *stack.Process, text string) bool {
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(25 * time.Millisecond) {
		if strings.Contains(p.Output(), text) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// SameTrace reports whether two trace IDs name one trace (Jaeger drops
// leading zeros).
func SameTrace(a, b string) bool {
	return strings.TrimLeft(strings.ToLower(a), "0") == strings.TrimLeft(strings.ToLower(b), "0")
}

// Get sends a GET with header and returns the status, the answer's
// header and the start of its body.
func Get(ctx context.Context, url string, header http.Header) (int, http.Header, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, "", err
	}
	req.Header = header
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, "", fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, resp.Header, string(body), nil
}
