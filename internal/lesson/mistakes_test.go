package lesson_test

import (
	"fmt"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
)

// A mistake is one that learners make in an exercise, written as a small
// change to the step's own code: make check must fail it with the message
// that names the fix. docs/workshop.md's table of common mistakes lists
// them, with those messages.
type mistake struct {
	step   int
	name   string
	edits  []edit
	remove string // a folder of the step, removed
	// told are what the problems must say, each in one of them
	// ("a | b": either).
	told []string
}

// An edit changes old, which occurs exactly once in file (relative to the
// step's folder), into new.
type edit struct{ file, old, new string }

var mistakes = []mistake{
	{step: 3, name: "the request's span never finished", edits: []edit{{"tracing.go", "\t\tdefer span.Finish()\n", "\n"}},
		told: []string{`Jaeger got no span "GET /git/{owner}/{repo}"`, "Finish it"}},
	{step: 3, name: "the tracer not made the global tracer", edits: []edit{{"main.go", "\topentracing.SetGlobalTracer(tracer)\n", "\t_, _ = tracer, opentracing.GlobalTracer()\n"}},
		told: []string{"the answer has no X-Trace-Id header", "opentracing.SetGlobalTracer"}},
	{step: 3, name: "no trace ID in the answer", edits: []edit{{"tracing.go", `w.Header().Set("X-Trace-Id", sc.TraceID().String())`, `_ = sc`}},
		told: []string{"the answer has no X-Trace-Id header: set it to the trace ID of the request's span"}},
	{step: 3, name: "no link to the trace in the log", edits: []edit{{"http.go", `attrs = append(attrs, "trace", jaegerUI+"/trace/"+traceID)`, `_, _ = jaegerUI, traceID`}},
		told: []string{"the request's log line has no link to its trace"}},

	{step: 4, name: "countCommits' span never finished", edits: []edit{{"contributors.go", "\tdefer span.Finish()\n", "\t_ = span\n"}},
		told: []string{"no span for counting the commits (countCommits) reached Jaeger. A span is sent only once it is finished: does countCommits defer span.Finish()?"}},
	{step: 4, name: "StartSpan without the context", edits: []edit{{"github.go", `span, ctx := opentracing.StartSpanFromContext(ctx, "fetchContributorStats")`, `span := opentracing.StartSpan("fetchContributorStats")`}},
		told: []string{`the span for the GitHub call (fetchContributorStats) starts a trace of its own: start it with opentracing.StartSpanFromContext(ctx, "fetchContributorStats")`}},
	{step: 4, name: "countCommits given context.Background()", edits: []edit{{"main.go", "countCommits(ctx, stats)", "countCommits(context.Background(), stats)"}},
		told: []string{"the span countCommits starts a trace of its own", "a ctx of context.Background(), starts a new trace"}},

	{step: 5, name: "the count logged before it is counted", edits: []edit{
		{"contributors.go", "\tspan.LogFields(log.Int(\"contributors\", len(contributors)))\n", "\n"},
		{"contributors.go", "\tcontributors := make([]contributor, 0, len(commits))\n",
			"\tcontributors := make([]contributor, 0, len(commits))\n\tspan.LogFields(log.Int(\"contributors\", len(contributors)))\n"}},
		told: []string{`span "countCommits" logged contributors=0`, "log the count after the loop that computes it"}},
	{step: 5, name: "no repo tag on the request's span", edits: []edit{{"main.go",
		"\topentracing.SpanFromContext(r.Context()).SetTag(\"repo\", owner+\"/\"+repo)\n", "\n"}},
		told: []string{`no tag repo (want "golang/go")`, `span.SetTag("repo", owner+"/"+repo)`}},
	{step: 5, name: "no event while waiting for the lock", edits: []edit{{"wild.go", "\tspan.LogFields(log.String(\"event\", \"waiting for the login index lock\"))\n", "\n"}},
		told: []string{`no log event="waiting for the login index lock"`, "that is what solves the mystery"}},

	{step: 6, name: "the gateway's span is no server span", edits: []edit{{"internal/tracing/tracing.go", "opentracing.StartSpan(r.Pattern, ext.SpanKindRPCServer)", "opentracing.StartSpan(r.Pattern)"}},
		told: []string{`no tag span.kind (want "server")`, "ext.SpanKindRPCServer"}},
	{step: 6, name: "the gateway's span never finished", edits: []edit{{"internal/tracing/tracing.go", "\t\tdefer span.Finish()\n", "\n"}},
		told: []string{`Jaeger got no span "GET /git/{owner}/{repo}"`}},
	{step: 6, name: "the cleaner not split out", remove: "cleaner",
		told: []string{"has no cleaner/: step 6 runs 3 programs, each in a folder of its own"}},

	{step: 7, name: "ChildOf for the queue", edits: []edit{{"cleaner/main.go", "opentracing.FollowsFrom(producer)", "opentracing.ChildOf(producer)"}},
		told: []string{`cleaner span "cleanJob" names its parent "queue.Push" with a CHILD_OF reference, want FOLLOWS_FROM`, "opentracing.FollowsFrom(the extracted context)"}},
	{step: 7, name: "inject over HTTP but not into the job", edits: []edit{{"gateway/services.go", "\topentracing.GlobalTracer().Inject(span.Context(), opentracing.TextMap, opentracing.TextMapCarrier(msg.Headers))\n", "\n"}},
		told: []string{"the cleaner's span starts a new trace: is the span context in the message?"}},
	{step: 7, name: "no inject into the HTTP request", edits: []edit{{"gateway/services.go", "\topentracing.GlobalTracer().Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))\n", "\n"}},
		told: []string{"the contributors service's span starts a new trace: did the gateway inject its span context into the request's headers"}},
	{step: 7, name: "no client span around the call to contributors", edits: []edit{{"gateway/services.go", `span, ctx := opentracing.StartSpanFromContext(ctx, "fetchStats", ext.SpanKindRPCClient)`, `span := opentracing.SpanFromContext(ctx)`}},
		told: []string{`no span "fetchStats" in the gateway around its call to the contributors service`}},

	{step: 8, name: "SetTag instead of baggage", edits: []edit{{"gateway/main.go", "span.SetBaggageItem(requestedByKey, requestedBy(r))", "span.SetTag(requestedByKey, requestedBy(r))"}},
		told: []string{`tag requested_by = "" (want "alice")`, "who asked comes as baggage"}},
	{step: 8, name: "no anonymous fallback", edits: []edit{{"gateway/baggage.go", "\treturn \"anonymous\"\n", "\treturn r.Header.Get(\"X-Requested-By\")\n"}},
		told: []string{`must be cleaned for "anonymous"`}},
	{step: 8, name: "the client's requested-by not overridden", edits: []edit{{"gateway/main.go", "span.SetBaggageItem(requestedByKey, requestedBy(r))", "if name := requestedBy(r); name != \"anonymous\" {\n\t\tspan.SetBaggageItem(requestedByKey, name)\n\t}"}},
		// Where the gateway trusts no client's trace context, the
		// client's baggage is gone and no name at all reaches the
		// cleaner.
		told: []string{`the client's own baggage (uberctx-requested-by: admin) reached the cleaner | must be cleaned for "anonymous"`}},
	{step: 8, name: "the cleaner does not log who asked", edits: []edit{{"cleaner/main.go", `, "requested_by", requestedBy)`, `)`}},
		told: []string{"the cleaner logged no requested_by=alice"}},

	{step: 9, name: "no propagator set", edits: []edit{{"internal/tracing/tracing.go", "\totel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))\n", "\t_ = propagation.TraceContext{}\n"}},
		told: []string{"the cleaner's span starts a new trace", "the global propagator must be set"}},
	{step: 9, name: "FollowsFrom kept for the queue", edits: []edit{{"cleaner/main.go", "opentracing.ChildOf(producer)", "opentracing.FollowsFrom(producer)"}},
		told: []string{"with OpenTelemetry a FollowsFrom reference alone becomes a link to another trace"}},
	{step: 9, name: "the bridge not made the global tracer", edits: []edit{{"gateway/main.go", "\topentracing.SetGlobalTracer(tracer)\n", "\t_ = tracer\n"}},
		told: []string{"step 9 reports with OpenTelemetry's SDK", "the answer has no X-Trace-Id header"}},

	{step: 10, name: "no propagator set", edits: []edit{{"internal/tracing/tracing.go",
		"\totel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))\n",
		"\t_ = propagation.TraceContext{}\n"}},
		told: []string{
			"the contributors service's span starts a new trace: the trace context did not cross the HTTP call",
			"the cleaner's span starts a new trace: is the span context in the message?",
			"is the global propagator set",
		}},
	{step: 10, name: "the handler not wrapped", edits: []edit{{"gateway/main.go",
		`otelhttp.NewHandler(tracing.LogRequests(logger, web.EnvOr("JAEGER_UI", "http://localhost:16686"), app.routes()), "gateway", tracing.NotHealthz, tracing.PublicEndpoint)`,
		`tracing.LogRequests(logger, web.EnvOr("JAEGER_UI", "http://localhost:16686"), app.routes())`}},
		told: []string{`the handler not wrapped makes no span at all`}},
	{step: 10, name: "the context not passed to the client", edits: []edit{{"gateway/services.go",
		"http.NewRequestWithContext(ctx, http.MethodGet, statsURL, nil)", "http.NewRequest(http.MethodGet, statsURL, nil)"}},
		told: []string{`the gateway's client span "HTTP GET" starts a trace of its own: the context was not passed to the client`}},
	{step: 10, name: "the job's headers left empty", edits: []edit{{"gateway/services.go",
		"\totel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(msg.Headers))\n", "\t_ = propagation.MapCarrier(msg.Headers)\n"}},
		told: []string{"the cleaner's span starts a new trace"}},
}

// TestMistakesAreTold: each common mistake, applied to a copy of its
// step's own code, fails make check with the message that names its fix.
func TestMistakesAreTold(t *testing.T) {
	if testing.Short() {
		t.Skip("each mistake runs a step's programs against Jaeger")
	}
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mistakes {
		t.Run("step "+strconv.Itoa(m.step)+": "+m.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(root, testCopy(t, root, lesson.Exercise{Name: "mistake", From: m.step}))
			if err := m.apply(dir); err != nil {
				t.Fatal(err)
			}
			result := stepsuite.Run(t, m.step, dir)
			all := strings.Join(result.Problems, "\n")
			for _, want := range m.told {
				if !slices.ContainsFunc(strings.Split(want, " | "), func(s string) bool { return strings.Contains(all, s) }) {
					t.Errorf("no problem says %q; the problems:\n%s", want, all)
				}
			}
			if len(result.Problems) == 0 {
				t.Error("make check passed the mistake")
			}
		})
	}
}

// TestEveryLessonHasItsMistakes: at least three mistakes for every lesson.
func TestEveryLessonHasItsMistakes(t *testing.T) {
	count := map[int]int{}
	for _, m := range mistakes {
		count[m.step]++
	}
	for _, l := range lesson.All() {
		if count[l.Step] < 3 {
			t.Errorf("lesson %d has %d mistakes that make check is shown, want at least 3", l.Step, count[l.Step])
		}
	}
}

// apply makes the mistake in dir, a copy of its step.
func (m mistake) apply(dir string) error {
	if m.remove != "" {
		return os.RemoveAll(filepath.Join(dir, m.remove))
	}
	for _, e := range m.edits {
		path := filepath.Join(dir, e.file)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := strings.Count(string(data), e.old); n != 1 {
			return fmt.Errorf("step %d's %s holds %q %d times, want once: update the mistake to the step's code", m.step, e.file, e.old, n)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(data), e.old, e.new, 1)), 0o644); err != nil {
			return err
		}
	}
	return nil
}
