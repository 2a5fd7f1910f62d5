package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/internal/testkit/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func init() { badThings = false }

// discard is the log of the tests that do not read it.
var discard = slog.New(slog.DiscardHandler)

// TestCleaner: what every distributed step's cleaner keeps
// (internal/lesson).
func TestCleaner(t *testing.T) {
	stepsuite.TestCleaner(t, stepsuite.Cleaner{CleanJob: func(ctx context.Context, msg jobqueue.Message) ([]byte, error) {
		return handle(ctx, discard, msg)
	}})
}

// The tests below install a global tracer: they must not run in parallel.

// TestCleanJobContinuesTheTrace: step 7's lesson on this side. The job's
// headers carry the gateway's producer span context; cleanJob is a
// consumer span under it (its child, in step 9), and countCommits is under
// cleanJob.
func TestCleanJobContinuesTheTrace(t *testing.T) {
	tracer := tracetest.Install(t)
	push := tracer.StartSpan("queue.Push") // the gateway's producer span
	headers := map[string]string{}
	if err := tracer.Inject(push.Context(), opentracing.TextMap, opentracing.TextMapCarrier(headers)); err != nil {
		t.Fatal(err)
	}
	answer, err := handle(context.Background(), discard, stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), headers))
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

// TestCleanJobIsTheProducersChild: step 9's choice. On OpenTelemetry,
// cleanJob is a child of the gateway's queue.Push, in its trace, with its
// baggage: a FollowsFrom would start a new trace with a link
// (internal/tracing's TestTrapFollowsFromStartsANewTrace).
func TestCleanJobIsTheProducersChild(t *testing.T) {
	bridge, exporter := oteltest.Install(t)
	push := bridge.StartSpan("queue.Push", ext.SpanKindProducer)
	push.SetBaggageItem("requested-by", "alice")
	headers := map[string]string{}
	if err := bridge.Inject(push.Context(), opentracing.TextMap, opentracing.TextMapCarrier(headers)); err != nil {
		t.Fatal(err)
	}
	if headers["traceparent"] == "" || headers["baggage"] != "requested-by=alice" {
		t.Errorf("the job's headers %v, want W3C traceparent and baggage", headers)
	}
	if _, err := handle(context.Background(), discard, stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), headers)); err != nil {
		t.Fatal(err)
	}
	push.Finish()

	producer, clean := oteltest.Find(t, exporter, "queue.Push"), oteltest.Find(t, exporter, "cleanJob")
	if !oteltest.ChildOf(producer, clean) || len(clean.Links) != 0 {
		t.Errorf("cleanJob is in trace %s under %s with links %+v; want queue.Push's child, in trace %s, without links",
			clean.SpanContext.TraceID(), clean.Parent.SpanID(), clean.Links, producer.SpanContext.TraceID())
	}
	if clean.SpanKind != trace.SpanKindConsumer {
		t.Errorf("cleanJob's kind %v, want consumer", clean.SpanKind)
	}
	if got := oteltest.Attr(clean, "requested_by"); got != "alice" {
		t.Errorf("cleanJob: attribute requested_by = %v, want alice", got)
	}
	if count := oteltest.Find(t, exporter, "countCommits"); !oteltest.ChildOf(clean, count) {
		t.Errorf("countCommits is not cleanJob's child")
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
		answer, err := handle(context.Background(), discard, stepsuite.Job(t, "torvalds/linux", fakegithub.Stats("torvalds", "linux"), headers))
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
	handle(context.Background(), discard, stepsuite.Job(t, "a/b", map[string]string{"not": "a list"}, nil))
	span := tracetest.Find(t, tracer, "cleanJob")
	if span.Tag("error") != true || len(span.Logs()) != 1 {
		t.Errorf("cleanJob of unreadable statistics: error tag %v, logs %+v; want true and the error", span.Tag("error"), span.Logs())
	}
}

// TestCleanJobReadsTheBaggage: step 8's lesson on this side. The gateway
// put who asked in its span's baggage; the message's headers carry it with
// the span context, and the cleaner records it on its span and logs it.
func TestCleanJobReadsTheBaggage(t *testing.T) {
	tracer := tracetest.Install(t)
	request := tracer.StartSpan("GET /git/{owner}/{repo}") // the gateway's, two hops back
	request.SetBaggageItem("requested-by", "alice")
	push := tracer.StartSpan("queue.Push", opentracing.ChildOf(request.Context()))
	headers := map[string]string{}
	if err := tracer.Inject(push.Context(), opentracing.TextMap, opentracing.TextMapCarrier(headers)); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	answer, err := handle(context.Background(), slog.New(slog.NewTextHandler(&log, nil)), stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), headers))
	push.Finish()
	request.Finish()

	stepsuite.WantCleaned(t, answer, err, "golang", "go")
	clean := tracetest.Find(t, tracer, "cleanJob")
	if got := clean.BaggageItem("requested-by"); got != "alice" {
		t.Errorf("cleanJob's baggage requested-by = %q, want alice", got)
	}
	if got := clean.Tag("requested_by"); got != "alice" {
		t.Errorf("cleanJob: tag requested_by = %v, want alice", got)
	}
	if !strings.Contains(log.String(), "repo=golang/go") || !strings.Contains(log.String(), "requested_by=alice") {
		t.Errorf("the cleaner's log does not say whom it cleaned golang/go for:\n%s", log.String())
	}
	// countCommits, a child of cleanJob, has the baggage too.
	if got := tracetest.Find(t, tracer, "countCommits").BaggageItem("requested-by"); got != "alice" {
		t.Errorf("countCommits' baggage requested-by = %q, want alice", got)
	}
}

// TestCleanJobWithoutBaggage: a job whose headers carry no baggage is
// cleaned all the same, for nobody in particular.
func TestCleanJobWithoutBaggage(t *testing.T) {
	tracer := tracetest.Install(t)
	var log bytes.Buffer
	answer, err := handle(context.Background(), slog.New(slog.NewTextHandler(&log, nil)), stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), nil))
	stepsuite.WantCleaned(t, answer, err, "golang", "go")
	if got := tracetest.Find(t, tracer, "cleanJob").Tag("requested_by"); got != "" {
		t.Errorf("cleanJob: tag requested_by = %v, want empty", got)
	}
	if !strings.Contains(log.String(), `requested_by=""`) {
		t.Errorf("the cleaner's log should say nobody is known to have asked:\n%s", log.String())
	}
}

// handle does a job as the worker does: cleanJob, in the span traceJob
// starts and ends with the job's error.
func handle(ctx context.Context, logger *slog.Logger, msg jobqueue.Message) ([]byte, error) {
	ctx, end := traceJob(ctx, msg)
	answer, err := cleanJob(ctx, logger, msg)
	end(err)
	return answer, err
}
