package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/oteltest"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
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

// The tests below install a global tracer provider: they must not run in
// parallel.

// producer starts the gateway's queue.Push, with requested-by=alice in its
// baggage, and returns it with the job's headers as the gateway writes
// them: the global propagator into a map.
func producer(t *testing.T) (trace.Span, map[string]string) {
	t.Helper()
	member, err := baggage.NewMemberRaw("requested-by", "alice")
	if err != nil {
		t.Fatal(err)
	}
	bag, _ := baggage.New(member)
	ctx, push := otel.Tracer("test").Start(baggage.ContextWithBaggage(context.Background(), bag), "queue.Push",
		trace.WithSpanKind(trace.SpanKindProducer))
	headers := map[string]string{}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(headers))
	return push, headers
}

// TestCleanJobIsTheProducersChild: the queue hop on the native API. The
// job's headers carry W3C traceparent and baggage; cleanJob is a consumer
// span, the child of the gateway's queue.Push (no link), with the
// messaging attributes and who asked; countCommits is under it.
func TestCleanJobIsTheProducersChild(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	push, headers := producer(t)
	if headers["traceparent"] == "" || headers["baggage"] != "requested-by=alice" {
		t.Errorf("the job's headers %v, want W3C traceparent and baggage", headers)
	}
	msg := stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), headers)
	msg.ID = "1733300000000-0"
	answer, err := handle(context.Background(), discard, msg)
	push.End()
	stepsuite.WantCleaned(t, answer, err, "golang", "go")

	sent, clean := oteltest.Find(t, exporter, "queue.Push"), oteltest.Find(t, exporter, "cleanJob")
	if !oteltest.ChildOf(sent, clean) || len(clean.Links) != 0 {
		t.Errorf("cleanJob is in trace %s under %s with links %+v; want queue.Push's child, in trace %s, without links",
			clean.SpanContext.TraceID(), clean.Parent.SpanID(), clean.Links, sent.SpanContext.TraceID())
	}
	if clean.SpanKind != trace.SpanKindConsumer {
		t.Errorf("cleanJob's kind %v, want consumer", clean.SpanKind)
	}
	for key, want := range map[string]any{
		"messaging.system": "redis", "messaging.destination.name": "contributors:jobs",
		"messaging.operation.type": "process", "messaging.message.id": "1733300000000-0",
		"requested_by": "alice", "repo": "golang/go",
	} {
		if got := oteltest.Attr(clean, key); got != want {
			t.Errorf("cleanJob: attribute %s = %v, want %v", key, got, want)
		}
	}
	if clean.InstrumentationScope.Name != tracing.Scope {
		t.Errorf("cleanJob's scope %q, want the step's tracer, %q", clean.InstrumentationScope.Name, tracing.Scope)
	}
	count := oteltest.Find(t, exporter, "countCommits")
	if !oteltest.ChildOf(clean, count) {
		t.Errorf("countCommits is not cleanJob's child")
	}
	if got := oteltest.Attr(count, "contributors"); got != int64(len(fakegithub.Stats("golang", "go"))) {
		t.Errorf("countCommits: attribute contributors = %v, want %d", got, len(fakegithub.Stats("golang", "go")))
	}
}

// TestCleanJobWithoutTrace: a job without a trace context, or with a
// broken one, is cleaned all the same, in a trace of its own.
func TestCleanJobWithoutTrace(t *testing.T) {
	for name, headers := range map[string]map[string]string{
		"none":   nil,
		"broken": {"traceparent": "00-not-a-trace-01"},
	} {
		exporter := oteltest.InstallSDK(t)
		answer, err := handle(context.Background(), discard, stepsuite.Job(t, "torvalds/linux", fakegithub.Stats("torvalds", "linux"), headers))
		stepsuite.WantCleaned(t, answer, err, "torvalds", "linux")
		if span := oteltest.Find(t, exporter, "cleanJob"); span.Parent.IsValid() {
			t.Errorf("%s: cleanJob has parent %v, want a new trace", name, span.Parent.SpanID())
		}
	}
}

// TestUnreadableStatsMarkTheSpan: the job's failure shows on its span, as
// OpenTelemetry's conventions put it: the status ERROR with the message,
// and the error as an "exception" event.
func TestUnreadableStatsMarkTheSpan(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	_, err := handle(context.Background(), discard, stepsuite.Job(t, "a/b", map[string]string{"not": "a list"}, nil))
	if err == nil {
		t.Fatal("cleanJob of unreadable statistics did not fail")
	}
	span := oteltest.Find(t, exporter, "cleanJob")
	if span.Status.Code != codes.Error || span.Status.Description != err.Error() || !oteltest.HasEvent(span, "exception") {
		t.Errorf("cleanJob of unreadable statistics: status %s, events %+v; want Error: %v, and an exception event", oteltest.Status(span), span.Events, err)
	}
}

// TestCleanedLogJoinsTheTrace: the cleaner's log line says whom it cleaned
// for, and carries the trace_id and span_id of its cleanJob span: from a
// log line to its trace, and back.
func TestCleanedLogJoinsTheTrace(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	push, headers := producer(t)
	var log bytes.Buffer
	logger := slog.New(tracing.LogHandler(slog.NewTextHandler(&log, nil)))
	answer, err := handle(context.Background(), logger, stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), headers))
	push.End()
	stepsuite.WantCleaned(t, answer, err, "golang", "go")

	clean := oteltest.Find(t, exporter, "cleanJob")
	for _, want := range []string{
		"repo=golang/go", "requested_by=alice",
		"trace_id=" + clean.SpanContext.TraceID().String(), "span_id=" + clean.SpanContext.SpanID().String(),
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the cleaner's log line has no %s:\n%s", want, log.String())
		}
	}
}

// TestCleanJobWithoutBaggage: a job whose headers carry no baggage is
// cleaned all the same, for nobody in particular.
func TestCleanJobWithoutBaggage(t *testing.T) {
	exporter := oteltest.InstallSDK(t)
	var log bytes.Buffer
	answer, err := handle(context.Background(), slog.New(slog.NewTextHandler(&log, nil)), stepsuite.Job(t, "golang/go", fakegithub.Stats("golang", "go"), nil))
	stepsuite.WantCleaned(t, answer, err, "golang", "go")
	if got := oteltest.Attr(oteltest.Find(t, exporter, "cleanJob"), "requested_by"); got != "" {
		t.Errorf("cleanJob: attribute requested_by = %v, want empty", got)
	}
	if !strings.Contains(log.String(), `requested_by=""`) {
		t.Errorf("the cleaner's log should say nobody is known to have asked:\n%s", log.String())
	}
}

// TestUnreadableBodyIsMalformed: a job whose body is not JSON can never be
// done: cleanJob's error wraps jobqueue.ErrMalformed, and the queue
// answers it, logs it and keeps it as a dead letter instead of retrying.
func TestUnreadableBodyIsMalformed(t *testing.T) {
	oteltest.InstallSDK(t)
	_, err := handle(context.Background(), discard, jobqueue.Message{ID: "1-0", Body: []byte("not JSON")})
	if !errors.Is(err, jobqueue.ErrMalformed) {
		t.Errorf("cleanJob of a body that is not JSON: %v, want jobqueue.ErrMalformed", err)
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
