// Package lesson says, once for each step, what that step's lesson
// promises a trace shows: the span tree, each span's operation and parent,
// its tags and logs, and the services the trace crosses. The same
// definitions check a step's own programs (its end-to-end test) and a
// learner's exercise (make check): both run the programs against a real
// Jaeger and read the trace back.
//
// When a promise is broken, the message teaches: it says what is missing
// and what usually causes it.
//
// Start, Run and Test run the programs with the harness of the steps'
// tests (internal/testkit/e2e), so a package that calls them runs its tests
// through e2e.Main. make check is TestCheck of this package, which
// cmd/workshop runs: the check and the steps' tests share one code path.
//
// What the steps' tests keep besides a lesson is written here once too:
// TestMonolith and TestInProcess for the one-program steps (2-5);
// TestDistributed (end to end) and TestGateway, TestContributors and
// TestCleaner (in process, with the step's handlers as hooks) for the
// steps of three services (6 on).
package lesson

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// Lesson is what one step teaches and promises.
type Lesson struct {
	Step  int
	Title string // what it teaches, one line
	// Env is added to every program's environment when the lesson is
	// checked (the harness sets BAD_THINGS=off unless a lesson says).
	Env map[string]string
	// Requests are sent to the step's public program, in order, and each
	// one's trace is checked.
	Requests []Request
	// LogsTraceLink: the public program's request log names the trace
	// (trace=<JAEGER_UI>/trace/<id>).
	LogsTraceLink bool
}

// Request is one request of a lesson's check and the trace it must leave.
type Request struct {
	Path   string // "/git/golang/go"
	Status int    // of the answer
	// Header is sent with the request.
	Header map[string]string
	// FromClient: the request carries a trace context of the check's own
	// (uber-trace-id), a caller from outside. Its first span, the edge's,
	// must not continue that trace: it starts a new one and names the
	// caller's in the tag caller.trace_id (the trust boundary).
	FromClient bool
	// Spans are the spans the trace must hold, parents before children.
	// Other spans may be there too.
	Spans []Span
	// NoOrphans: every span's parent is in the trace (one trace across
	// every service).
	NoOrphans bool
	// Logged are what the programs must log once the request is answered.
	Logged []Logged
}

// Logged is a piece of text a program must log.
type Logged struct {
	Program string // "cleaner"
	Text    string // "requested_by=alice"
	Missing string // teaches when it is not there
}

// Span is a span that a trace must hold.
type Span struct {
	Service   string // "gateway"
	Operation string // "GET /git/{owner}/{repo}"
	Parent    string // the parent span's operation; "" for the trace's root
	// Ref is how the span must name its parent, where the lesson says:
	// jaeger.ChildOf or jaeger.FollowsFrom; "" takes either. WrongRef
	// teaches when it names it the other way.
	Ref, WrongRef string
	// Tags must have these values (as Jaeger shows them: "502", "true").
	Tags map[string]string
	// Logs must each match one of the span's logs.
	Logs []Log
	// Also checks what tags and logs cannot say; it returns a problem,
	// or "".
	Also func(s jaeger.Span) string
	// Missing teaches when the span is nowhere in Jaeger; Detached when
	// it is there, but in a trace of its own.
	Missing, Detached string
	// Hint is added to a problem with the span's tags or logs.
	Hint string
}

// Log is a log field a span must have: Key with Value, or any value if
// Value is "".
type Log struct{ Key, Value string }

func (l Log) String() string {
	if l.Value == "" {
		return l.Key
	}
	return fmt.Sprintf("%s=%q", l.Key, l.Value)
}

func (s Span) String() string { return fmt.Sprintf("%s span %q", s.Service, s.Operation) }

// Elsewhere reports whether Jaeger holds a span of service named operation
// in another trace than the one checked, from the same run: a span that
// did not join the request's trace.
type Elsewhere func(service, operation string) bool

// Check checks trace, the trace of request r, against r's promise and
// returns the broken promises, each with what to do; none if it holds.
// clientTrace is the trace ID of the check's own context for a FromClient
// request.
func (r Request) Check(trace jaeger.Trace, clientTrace string, elsewhere Elsewhere) []string {
	var problems []string
	byID := map[string]jaeger.Span{}
	for _, s := range trace.Spans {
		byID[s.SpanID] = s
	}
	absent := map[string]bool{}     // operations not in the trace
	services := map[string]string{} // of the operations promised
	for _, want := range r.Spans {
		services[want.Operation] = want.Service
		got, ok := FindSpan(trace, want.Service, want.Operation)
		if !ok {
			absent[want.Operation] = true
			// Under an absent parent of the same service, only the
			// parent's problem teaches; across services, the context
			// crossing over is the lesson.
			if !absent[want.Parent] || services[want.Parent] != want.Service {
				problems = append(problems, missing(want, elsewhere))
			}
			continue
		}
		parent, hasParent := byID[got.ParentID()]
		switch {
		case want.Parent == "" && r.FromClient:
			if got.ParentID() != "" {
				problems = append(problems, fmt.Sprintf(
					"%s continued the trace in its client's uber-trace-id header: the gateway is the edge, and a trace context from outside is untrusted input: start a new trace (see the README's \"The trust boundary\")", want))
			}
			if caller, _ := got.Tag("caller.trace_id"); fmt.Sprint(caller) != clientTrace {
				problems = append(problems, fmt.Sprintf(
					"%s has no tag caller.trace_id naming the trace in its client's uber-trace-id header (%s): extract the client's span context (Tracer.Extract with opentracing.HTTPHeaders) and tag its trace ID, for the caller to find our trace", want, clientTrace))
			}
		case want.Parent == "" && got.ParentID() != "":
			problems = append(problems, fmt.Sprintf("%s has a parent (%s); it should start the trace", want, describe(trace, parent, hasParent)))
		case want.Parent != "" && got.ParentID() == "":
			// A root: a trace of its own (a mocktracer's spans are all
			// in one list).
			problems = append(problems, missing(want, func(string, string) bool { return true }))
		case want.Parent != "" && (!hasParent || parent.OperationName != want.Parent):
			problems = append(problems, fmt.Sprintf(
				"%s is a child of %s, want a child of %q: start it from the context that carries %q",
				want, describe(trace, parent, hasParent), want.Parent, want.Parent))
		case want.Ref != "" && got.Parent().RefType != want.Ref:
			problems = append(problems, withHint(fmt.Sprintf("%s names its parent %q with a %s reference, want %s",
				want, want.Parent, got.Parent().RefType, want.Ref), want.WrongRef))
		}
		var wrong []string
		for _, key := range sortedKeys(want.Tags) {
			if value, ok := got.Tag(key); !ok {
				wrong = append(wrong, fmt.Sprintf("no tag %s (want %q)", key, want.Tags[key]))
			} else if fmt.Sprint(value) != want.Tags[key] {
				wrong = append(wrong, fmt.Sprintf("tag %s = %q (want %q)", key, fmt.Sprint(value), want.Tags[key]))
			}
		}
		for _, log := range want.Logs {
			if !hasLog(got, log) {
				wrong = append(wrong, fmt.Sprintf("no log %s", log))
			}
		}
		if len(wrong) > 0 {
			problem := fmt.Sprintf("%s has %s", want, strings.Join(wrong, ", "))
			if len(want.Logs) > 0 {
				problem += fmt.Sprintf(" (its logs: %s)", logs(got))
			}
			problems = append(problems, withHint(problem, want.Hint))
		}
		if want.Also != nil {
			if problem := want.Also(got); problem != "" {
				problems = append(problems, problem)
			}
		}
	}
	if r.NoOrphans {
		for _, s := range trace.Spans {
			if id := s.ParentID(); id != "" {
				if _, ok := byID[id]; !ok {
					problems = append(problems, fmt.Sprintf("%s span %q has a parent that is not in the trace: a span context was passed on, but its span never reached Jaeger (is it finished? does its service flush on exit?)",
						trace.ServiceName(s), s.OperationName))
				}
			}
		}
	}
	return problems
}

// missing is the problem of a span that is not in the trace.
func missing(want Span, elsewhere Elsewhere) string {
	if elsewhere != nil && elsewhere(want.Service, want.Operation) {
		if want.Detached != "" {
			return want.Detached
		}
		return fmt.Sprintf("%s is in a trace of its own, not in the request's: start it from the context that carries its parent", want)
	}
	if want.Missing != "" {
		return want.Missing
	}
	return fmt.Sprintf("no %s in the trace", want)
}

func describe(trace jaeger.Trace, parent jaeger.Span, ok bool) string {
	if !ok {
		return "a span that is not in the trace"
	}
	return fmt.Sprintf("%s span %q", trace.ServiceName(parent), parent.OperationName)
}

func withHint(problem, hint string) string {
	if hint == "" {
		return problem
	}
	return problem + ": " + hint
}

func FindSpan(trace jaeger.Trace, service, operation string) (jaeger.Span, bool) {
	for _, s := range trace.Spans {
		if s.OperationName == operation && trace.ServiceName(s) == service {
			return s, true
		}
	}
	return jaeger.Span{}, false
}

func hasLog(s jaeger.Span, want Log) bool {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == want.Key && (want.Value == "" || fmt.Sprint(f.Value) == want.Value) {
				return true
			}
		}
	}
	return false
}

// logs lists a span's log fields, for a message.
func logs(s jaeger.Span) string {
	var fields []string
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			fields = append(fields, fmt.Sprintf("%s=%v", f.Key, f.Value))
		}
	}
	if len(fields) == 0 {
		return "none"
	}
	return strings.Join(fields, ", ")
}

// LogValue returns the value of the first log field key of s, and whether
// there is one.
func LogValue(s jaeger.Span, key string) (string, bool) {
	for _, l := range s.Logs {
		for _, f := range l.Fields {
			if f.Key == key {
				return fmt.Sprint(f.Value), true
			}
		}
	}
	return "", false
}

// Complete reports whether trace holds every span r promises: then there
// is no need to wait for more.
func (r Request) Complete(trace jaeger.Trace) bool {
	for _, want := range r.Spans {
		if _, ok := FindSpan(trace, want.Service, want.Operation); !ok {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// For returns step n's lesson.
func For(n int) (Lesson, error) {
	for _, l := range All() {
		if l.Step == n {
			return l, nil
		}
	}
	var steps []string
	for _, l := range All() {
		steps = append(steps, fmt.Sprint(l.Step))
	}
	return Lesson{}, fmt.Errorf("no lesson for step %d; the steps with a lesson to check are %s", n, strings.Join(steps, ", "))
}

// OnlyThePromised returns what trace, the trace of r, has that r does not
// promise.
func OnlyThePromised(trace jaeger.Trace, r Request, traceID string) []string {
	var problems []string
	promised := map[string]Span{}
	for _, want := range r.Spans {
		promised[want.Service+": "+want.Operation] = want
	}
	seen := map[string]int{}
	present := map[string]bool{}
	for _, span := range trace.Spans {
		present[span.SpanID] = true
	}
	var roots []string
	for _, span := range trace.Spans {
		name := trace.ServiceName(span) + ": " + span.OperationName
		seen[name]++
		if !SameTrace(span.TraceID, traceID) {
			problems = append(problems, fmt.Sprintf("%s: trace ID %s, want %s", name, span.TraceID, traceID))
		}
		if parent := span.ParentID(); parent == "" || !present[parent] {
			roots = append(roots, name)
		}
		want, ok := promised[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("span %s, which the lesson does not name", name))
			continue
		}
		// OpenTelemetry (step 9) calls a span without a kind "internal".
		if kind, has := span.Tag("span.kind"); has && kind != "internal" && want.Tags["span.kind"] == "" {
			problems = append(problems, fmt.Sprintf("%s: span.kind = %v, want none", name, kind))
		}
	}
	for name, count := range seen {
		if count > 1 {
			problems = append(problems, fmt.Sprintf("%d spans %s, want one", count, name))
		}
	}
	if root := r.Spans[0].Service + ": " + r.Spans[0].Operation; len(roots) != 1 || roots[0] != root {
		problems = append(problems, fmt.Sprintf("roots %v, want %s alone", roots, root))
	}
	return problems
}
