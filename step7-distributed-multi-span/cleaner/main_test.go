package main

import (
	"context"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
	"github.com/uber/jaeger-client-go"
)

func init() { badThings = false }

// TestCleaner: what every distributed step's cleaner keeps
// (internal/lesson).
func TestCleaner(t *testing.T) { stepsuite.TestCleaner(t, stepsuite.Cleaner{CleanJob: handle}) }

// The tests below install a global tracer: they must not run in parallel.

// TestCleanJobContinuesTheTrace: step 7's lesson on this side. The job's
// headers carry the gateway's producer span context; cleanJob is a
// consumer span that follows from it, and countCommits is under cleanJob.
func TestCleanJobContinuesTheTrace(t *testing.T) {
	tracer := tracetest.Install(t)
	push := tracer.StartSpan("queue.Push") // the gateway's producer span
	headers := map[string]string{}
	if err := tracer.Inject(push.Context(), opentracing.TextMap, opentracing.TextMapCarrier(headers)); err != nil {
		t.Fatal(err)
	}
	answer, err := handle(context.Background(), stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), headers))
	push.Finish()

	stepsuite.WantCleaned(t, answer, err, "golang", "go")
	want := "queue.Push\n  cleanJob\n    countCommits\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	clean := tracetest.Find(t, tracer, "cleanJob")
	tracetest.WantChildOf(t, clean, push.Context())
	for key, want := range map[string]any{"span.kind": ext.SpanKindConsumerEnum, "repo": "golang/go"} {
		if got := clean.Tag(key); got != want {
			t.Errorf("cleanJob: tag %s = %v, want %v", key, got, want)
		}
	}
}

// TestCleanJobFollowsFromTheProducer: the reference is FollowsFrom, not
// ChildOf: the gateway's span does not wait for the job's (OpenTracing's
// case for work handed over through a queue). mocktracer does not keep a
// reference's type; Jaeger's tracer, reporting to memory, does.
func TestCleanJobFollowsFromTheProducer(t *testing.T) {
	reporter := jaeger.NewInMemoryReporter()
	tracer, closer := jaeger.NewTracer("test", jaeger.NewConstSampler(true), reporter)
	defer closer.Close()
	opentracing.SetGlobalTracer(tracer)
	t.Cleanup(func() { opentracing.SetGlobalTracer(opentracing.NoopTracer{}) })

	push := tracer.StartSpan("queue.Push")
	headers := map[string]string{}
	tracer.Inject(push.Context(), opentracing.TextMap, opentracing.TextMapCarrier(headers))
	if _, err := handle(context.Background(), stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), headers)); err != nil {
		t.Fatal(err)
	}
	push.Finish()

	producer := push.Context().(jaeger.SpanContext)
	var found bool
	for _, s := range reporter.GetSpans() {
		span := s.(*jaeger.Span)
		if span.OperationName() != "cleanJob" {
			continue
		}
		found = true
		refs := span.References()
		if len(refs) != 1 || refs[0].Type != opentracing.FollowsFromRef {
			t.Errorf("cleanJob's references = %+v, want one FollowsFrom", refs)
		}
		if ctx := span.SpanContext(); ctx.TraceID() != producer.TraceID() || ctx.ParentID() != producer.SpanID() {
			t.Errorf("cleanJob is in trace %s under %s, want trace %s under queue.Push %s",
				ctx.TraceID(), ctx.ParentID(), producer.TraceID(), producer.SpanID())
		}
	}
	if !found {
		t.Fatalf("no cleanJob span among %v", reporter.GetSpans())
	}
}

// TestCleanJobWithoutTrace: a job without a trace context, or with a
// broken one, is cleaned all the same, in a trace of its own.
func TestCleanJobWithoutTrace(t *testing.T) {
	for name, headers := range map[string]map[string]string{
		"none":   nil,
		"broken": {"mockpfx-ids-traceid": "not a number", "mockpfx-ids-spanid": "7"},
	} {
		tracer := tracetest.Install(t)
		answer, err := handle(context.Background(), stepsuite.Job(t, "torvalds/linux", fakegithub.Stats("torvalds", "linux"), headers))
		stepsuite.WantCleaned(t, answer, err, "torvalds", "linux")
		if got, want := tracetest.Tree(tracer.FinishedSpans()), "cleanJob\n  countCommits\n"; got != want {
			t.Errorf("%s: spans:\n%s\nwant:\n%s", name, got, want)
		}
		if span := tracetest.Find(t, tracer, "cleanJob"); span.ParentID != 0 {
			t.Errorf("%s: cleanJob has parent %d, want a new trace", name, span.ParentID)
		}
	}
}

// TestUnreadableStatsMarkTheSpan: the job's failure shows on its span.
func TestUnreadableStatsMarkTheSpan(t *testing.T) {
	tracer := tracetest.Install(t)
	handle(context.Background(), stepsuite.Job(t, "a/b", map[string]string{"not": "a list"}, nil))
	span := tracetest.Find(t, tracer, "cleanJob")
	if span.Tag("error") != true || len(span.Logs()) != 1 {
		t.Errorf("cleanJob of unreadable statistics: error tag %v, logs %+v; want true and the error", span.Tag("error"), span.Logs())
	}
}

// handle does a job as the worker does: cleanJob, in the span traceJob
// starts and ends with the job's error.
func handle(ctx context.Context, msg jobqueue.Message) ([]byte, error) {
	ctx, end := traceJob(ctx, msg)
	answer, err := cleanJob(ctx, msg)
	end(err)
	return answer, err
}
