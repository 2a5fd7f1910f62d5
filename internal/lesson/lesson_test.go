package lesson

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
)

// fakeSpan is a span for traceOf. parent is the index of its parent in
// the trace: -1 for a root, out of range for a parent not in the trace.
type fakeSpan struct {
	service, operation string
	parent             int  // index in the trace; -1 for none
	follows            bool // a FOLLOWS_FROM reference to its parent, not CHILD_OF
	tags               map[string]any
	logs               map[string]any
}

// traceOf builds a trace as Jaeger's API returns it.
func traceOf(spans ...fakeSpan) jaeger.Trace {
	trace := jaeger.Trace{TraceID: "t1", Processes: map[string]jaeger.Process{}}
	for i, s := range spans {
		trace.Processes["p-"+s.service] = jaeger.Process{ServiceName: s.service}
		span := jaeger.Span{TraceID: "t1", SpanID: fmt.Sprint("s", i), OperationName: s.operation, ProcessID: "p-" + s.service, StartTime: int64(i)}
		switch {
		case s.parent >= len(spans):
			span.References = []jaeger.Reference{{RefType: "CHILD_OF", SpanID: "gone"}}
		case s.parent >= 0 && s.follows:
			span.References = []jaeger.Reference{{RefType: jaeger.FollowsFrom, SpanID: fmt.Sprint("s", s.parent)}}
		case s.parent >= 0:
			span.References = []jaeger.Reference{{RefType: jaeger.ChildOf, SpanID: fmt.Sprint("s", s.parent)}}
		}
		for k, v := range s.tags {
			span.Tags = append(span.Tags, jaeger.KeyValue{Key: k, Value: v})
		}
		for k, v := range s.logs {
			span.Logs = append(span.Logs, jaeger.Log{Fields: []jaeger.KeyValue{{Key: k, Value: v}}})
		}
		trace.Spans = append(trace.Spans, span)
	}
	return trace
}

func lessonRequest(t *testing.T, step, i int) Request {
	t.Helper()
	l, err := For(step)
	if err != nil {
		t.Fatal(err)
	}
	return l.Requests[i]
}

func nowhere(service, operation string) bool { return false }

// wantProblems fails t unless problems are exactly as many as want, each
// containing its part of want, in order.
func wantProblems(t *testing.T, problems []string, want ...string) {
	t.Helper()
	if len(problems) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(problems), len(want), strings.Join(problems, "\n"))
	}
	for i := range want {
		if !strings.Contains(problems[i], want[i]) {
			t.Errorf("problem %d:\n%s\nwant it to say %q", i+1, problems[i], want[i])
		}
	}
}

func TestStep4TreeHolds(t *testing.T) {
	trace := traceOf(
		fakeSpan{service: "gateway", operation: request, parent: -1},
		fakeSpan{service: "gateway", operation: fetch, parent: 0},
		fakeSpan{service: "gateway", operation: count, parent: 0},
	)
	wantProblems(t, lessonRequest(t, 4, 0).Check(trace, "", nowhere))
}

func TestMissingSpanTeaches(t *testing.T) {
	trace := traceOf(fakeSpan{service: "gateway", operation: request, parent: -1})
	r := lessonRequest(t, 4, 0)
	wantProblems(t, r.Check(trace, "", nowhere),
		"no span for the GitHub call (fetchContributorStats)", "no span for counting the commits")
	// In Jaeger, but in a trace of its own: started from the wrong context.
	detached := func(service, operation string) bool { return operation == fetch }
	wantProblems(t, r.Check(trace, "", detached),
		`start it with opentracing.StartSpanFromContext(ctx, "fetchContributorStats")`, "no span for counting the commits")
}

func TestRootThatShouldBeAChild(t *testing.T) {
	trace := traceOf(
		fakeSpan{service: "gateway", operation: request, parent: -1},
		fakeSpan{service: "gateway", operation: fetch, parent: 0},
		fakeSpan{service: "gateway", operation: count, parent: -1}, // from context.Background()
	)
	wantProblems(t, lessonRequest(t, 4, 0).Check(trace, "", nowhere),
		"the span countCommits starts a trace of its own: start it with opentracing.StartSpanFromContext")
}

func TestWrongParentAndExtraRoot(t *testing.T) {
	trace := traceOf(
		fakeSpan{service: "gateway", operation: request, parent: 9}, // a parent not in the trace
		fakeSpan{service: "gateway", operation: fetch, parent: 0},
		fakeSpan{service: "gateway", operation: count, parent: 1}, // under fetch, not the request
	)
	wantProblems(t, lessonRequest(t, 4, 0).Check(trace, "", nowhere),
		`gateway span "GET /git/{owner}/{repo}" has a parent (a span that is not in the trace)`,
		`gateway span "countCommits" is a child of gateway span "fetchContributorStats", want a child of "GET /git/{owner}/{repo}"`)
}

func TestTagsAndLogs(t *testing.T) {
	contributors := len(contracttest.Expected("golang", "go"))
	good := func() []fakeSpan {
		return []fakeSpan{
			{service: "gateway", operation: request, parent: -1, tags: map[string]any{
				"repo": "golang/go", "span.kind": "server", "http.method": "GET", "http.url": "/git/golang/go", "http.status_code": 200.0}},
			{service: "gateway", operation: fetch, parent: 0},
			{service: "gateway", operation: count, parent: 0, logs: map[string]any{
				"event": "waiting for the login index lock", "contributors": float64(contributors)}},
		}
	}
	trace := traceOf(good()...)
	// The second event, in a log of its own.
	trace.Spans[2].Logs = append(trace.Spans[2].Logs, jaeger.Log{Fields: []jaeger.KeyValue{{Key: "event", Value: "login index locked"}}})
	r := lessonRequest(t, 5, 0)
	wantProblems(t, r.Check(trace, "", nowhere))

	spans := good()
	delete(spans[0].tags, "repo")
	spans[0].tags["http.status_code"] = 500.0
	spans[2].logs = map[string]any{"contributors": 0.0}
	wantProblems(t, r.Check(traceOf(spans...), "", nowhere),
		`has tag http.status_code = "500" (want "200"), no tag repo (want "golang/go"): tag the request's span`,
		`has no log event="waiting for the login index lock", no log event="login index locked"`,
		fmt.Sprintf(`logged contributors=0, but golang/go has %d contributors: log the count after the loop`, contributors))
}

func TestBrokenRequestTags(t *testing.T) {
	trace := traceOf(
		fakeSpan{service: "gateway", operation: request, parent: -1, tags: map[string]any{"repo": "broken/repo", "http.status_code": 502.0, "error": true}},
		fakeSpan{service: "gateway", operation: fetch, parent: 0, tags: map[string]any{
			"span.kind": "client", "http.status_code": 500.0, "error": true, "http.url": "http://127.0.0.1:1/repos/broken/repo/stats/contributors"},
			logs: map[string]any{"error.object": "GET …: 500 Internal Server Error"}},
	)
	r := lessonRequest(t, 5, 1)
	wantProblems(t, r.Check(trace, "", nowhere))
	trace.Spans[1].Logs = nil
	wantProblems(t, r.Check(trace, "", nowhere), `has no log of GitHub's error`)
}

func TestOneTraceAcrossServices(t *testing.T) {
	step7 := func() []fakeSpan {
		return []fakeSpan{
			{service: "gateway", operation: request, parent: -1, tags: map[string]any{"span.kind": "server"}},
			{service: "gateway", operation: "fetchStats", parent: 0, tags: map[string]any{"span.kind": "client"}},
			{service: "contributors", operation: statsRequest, parent: 1, tags: map[string]any{"span.kind": "server"}},
			{service: "contributors", operation: fetch, parent: 2, tags: map[string]any{"span.kind": "client"}},
			{service: "gateway", operation: "queue.Push", parent: 0, tags: map[string]any{"span.kind": "producer"}},
			{service: "cleaner", operation: "cleanJob", parent: 4, follows: true, tags: map[string]any{"span.kind": "consumer"}},
			{service: "cleaner", operation: count, parent: 5},
			{service: "gateway", operation: "queue.WaitForReply", parent: 0},
		}
	}
	r := lessonRequest(t, 7, 0)
	wantProblems(t, r.Check(traceOf(step7()...), "", nowhere))

	// The cleaner's span a child of queue.Push, which does not wait for it.
	childOf := step7()
	childOf[5].follows = false
	wantProblems(t, r.Check(traceOf(childOf...), "", nowhere),
		`cleaner span "cleanJob" names its parent "queue.Push" with a CHILD_OF reference, want FOLLOWS_FROM`)

	// The job carried no context: the cleaner's spans are a trace of
	// their own.
	spans := step7()[:5]
	spans = append(spans, fakeSpan{service: "gateway", operation: "queue.WaitForReply", parent: 0})
	cleanerAlone := func(service, operation string) bool { return service == "cleaner" }
	// One problem: countCommits, under cleanJob, is no news.
	wantProblems(t, r.Check(traceOf(spans...), "", cleanerAlone),
		"the cleaner's span starts a new trace: is the span context in the message?")

	// Step 6: only the gateway's request span. Each missing link is told
	// once: the spans under an absent span of their own service are no
	// news, but the other services' are the lesson.
	wantProblems(t, r.Check(traceOf(step7()[0]), "", nowhere),
		`no span "fetchStats" in the gateway`,
		"no span of the contributors service in Jaeger at all",
		`no span "queue.Push" in the gateway`,
		"no span of the cleaner in Jaeger at all",
		`no span "queue.WaitForReply" in the gateway`)

	// A span whose parent never reached Jaeger.
	spans = step7()
	spans = append(spans, fakeSpan{service: "cleaner", operation: "lost", parent: 99})
	wantProblems(t, r.Check(traceOf(spans...), "", nowhere), `cleaner span "lost" has a parent that is not in the trace`)
}

func TestClientTraceContext(t *testing.T) {
	r := lessonRequest(t, 7, 1)
	if !r.FromClient {
		t.Fatal("step 7's second request does not send a trace context of its own")
	}
	// The edge starts a new trace and names the caller's.
	caller := map[string]any{"caller.trace_id": "c0ffee"}
	edge := traceOf(fakeSpan{service: "gateway", operation: request, parent: -1, tags: caller})
	wantProblems(t, r.Check(edge, "c0ffee", nowhere))
	wantProblems(t, r.Check(edge, "beef", nowhere), "has no tag caller.trace_id")
	// A gateway that ignores the header starts a trace, but loses the caller's.
	wantProblems(t, r.Check(traceOf(fakeSpan{service: "gateway", operation: request, parent: -1}), "c0ffee", nowhere),
		"has no tag caller.trace_id")
	// A gateway that continues the caller's trace crosses the trust boundary.
	joined := traceOf(fakeSpan{service: "gateway", operation: request, parent: 5, tags: caller})
	joined.Spans[0].References[0].SpanID = "c0ffee"
	wantProblems(t, r.Check(joined, "c0ffee", nowhere), "continued the trace in its client's uber-trace-id header")
}

// TestLessonsAreWellFormed: each lesson's spans name parents promised
// before them, every request starts with its root, and every numbered
// exercise has the lesson it is checked against, the step before.
func TestLessonsAreWellFormed(t *testing.T) {
	previous := 0
	for _, l := range All() {
		if l.Step <= previous || l.Title == "" || len(l.Requests) == 0 {
			t.Errorf("lesson %d: after %d, title %q, %d requests", l.Step, previous, l.Title, len(l.Requests))
		}
		previous = l.Step
		for _, r := range l.Requests {
			seen := map[string]bool{}
			for i, s := range r.Spans {
				if (i == 0) != (s.Parent == "") || (s.Parent != "" && !seen[s.Parent]) {
					t.Errorf("lesson %d, GET %s: span %q has parent %q, not a span before it", l.Step, r.Path, s.Operation, s.Parent)
				}
				seen[s.Operation] = true
			}
		}
	}
	for _, e := range Exercises() {
		_, err := For(e.Check)
		if step, _ := topology.Find(e.Check); step.JaegerRoles != "" && e.Title != "" {
			err = nil // from step 11 the lesson is Jaeger's configs, checked on its processes (jaeger.CheckRoles)
		}
		if err != nil || e.From > e.Check || e.Task == "" || e.Minutes == 0 {
			t.Errorf("exercise %s: from step %d, checked against %d (%v), task %q, %d minutes", e.Name, e.From, e.Check, err, e.Task, e.Minutes)
		}
		if fmt.Sprint(e.Check) == e.Name && e.From != e.Check-1 {
			t.Errorf("exercise %s copies step %d, want the step before", e.Name, e.From)
		}
	}
	_, err := For(99)
	for _, l := range All() {
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(l.Step)) {
			t.Errorf("For(99) error %v does not list lesson %d", err, l.Step)
		}
	}
}

// TestOnlyThePromised: the distributed steps' own trace holds the spans
// their lesson names and nothing else.
func TestOnlyThePromised(t *testing.T) {
	r := lessonRequest(t, 6, 0)
	request := fakeSpan{service: "gateway", operation: request, parent: -1, tags: map[string]any{"span.kind": "server"}}
	wantProblems(t, OnlyThePromised(traceOf(request), r, "t1"))
	wantProblems(t, OnlyThePromised(traceOf(request), r, "t2"), "trace ID t1, want t2")

	// Step 7's contributors span in step 6's trace, with a span.kind the
	// lesson does not give; and a span a second time.
	wantProblems(t, OnlyThePromised(traceOf(request,
		fakeSpan{service: "contributors", operation: statsRequest, parent: 0, tags: map[string]any{"span.kind": "server"}}), r, "t1"),
		"span contributors: GET /stats/{owner}/{repo}, which the lesson does not name")
	wantProblems(t, OnlyThePromised(traceOf(request, request), r, "t1"),
		"2 spans gateway: GET /git/{owner}/{repo}, want one", "roots [gateway: GET /git/{owner}/{repo} gateway: GET /git/{owner}/{repo}]")

	r = lessonRequest(t, 7, 0)
	var spans []fakeSpan
	for _, s := range r.Spans {
		parent := slices.IndexFunc(r.Spans, func(p Span) bool { return p.Operation == s.Parent })
		spans = append(spans, fakeSpan{service: s.Service, operation: s.Operation, parent: parent, tags: map[string]any{"span.kind": s.Tags["span.kind"]}})
		if s.Tags["span.kind"] == "" {
			spans[len(spans)-1].tags = nil
		}
	}
	wantProblems(t, OnlyThePromised(traceOf(spans...), r, "t1"))
	spans[6].tags = map[string]any{"span.kind": "client"} // countCommits
	spans[1].parent = 99                                  // fetchStats' parent never reached Jaeger
	wantProblems(t, OnlyThePromised(traceOf(spans...), r, "t1"),
		"cleaner: countCommits: span.kind = client, want none",
		"roots")
}
