// The cleaner: takes jobs from the queue, counts the commits in GitHub's
// raw statistics, and answers the gateway that asked.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/job"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

func main() {
	// Lines logged with a job's context carry its trace_id and span_id.
	logger := slog.New(tracing.LogHandler(slog.NewTextHandler(os.Stderr, nil))).With("service", "cleaner")
	if err := run(logger); err != nil {
		logger.Error("stopped", "error", err)
		os.Exit(1)
	}
}

func run(logger *slog.Logger) error {
	// Ctrl-C (SIGINT) or "docker stop" (SIGTERM) cancels ctx.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// "cleaner" unless OTEL_SERVICE_NAME says otherwise.
	closer, err := tracing.Init(ctx, "cleaner", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out

	queue := jobqueue.New(web.EnvOr("REDIS_ADDR", "localhost:6379"), "contributors")
	defer queue.Close()
	hostname, _ := os.Hostname()
	worker := &jobqueue.Worker{
		Queue:  queue,
		Logger: logger,
		// Keep the name across restarts: a cleaner that died finds the jobs
		// it had in hand under its name.
		Name: web.EnvOr("CLEANER_NAME", hostname),
		Jobs: 4, // at once
		// A job that sits this long in a dead cleaner's hands is taken
		// over: well within the gateway's wait (REPLY_TIMEOUT, 15 s).
		ClaimIdle:     5 * time.Second,
		MaxDeliveries: 3, // then a job that kills its cleaner is given up
		// Each job is done in a span of the gateway's trace, and the worker
		// logs its lines about the job in that span's context.
		Trace: traceJob,
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var jobs sync.WaitGroup
	jobs.Go(func() {
		worker.Run(ctx, func(ctx context.Context, msg jobqueue.Message) ([]byte, error) {
			return cleanJob(ctx, logger, msg)
		})
	})
	// /healthz only, for docker compose and the tests: 503 when the worker
	// has not heard from Redis lately.
	err = web.ServeHealth(ctx, logger, net.JoinHostPort(os.Getenv("HOST"), web.EnvOr("PORT", "8002")), worker.Healthy)
	cancel()    // the server has stopped (or never started): take no more jobs
	jobs.Wait() // and finish the ones in hand
	return err
}

// jobsStream is where the jobs come from (messaging.destination.name):
// the Stream of jobqueue.New(…, "contributors").
const jobsStream = "contributors:jobs"

// traceJob starts a job's span; the worker does the job (cleanJob) in the
// returned ctx, then ends the span with the job's error.
func traceJob(ctx context.Context, msg jobqueue.Message) (context.Context, func(error)) {
	// Continue the gateway's trace: the global propagator reads the
	// producer's span context (traceparent) and the baggage from the job's
	// headers into ctx. No context, or a broken one: a new trace.
	ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(msg.Headers))
	// The producer's span is this one's parent, as in step 9: one job,
	// whose answer the gateway waits for (see the README for the link).
	ctx, span := otel.Tracer(tracing.Scope).Start(ctx, "cleanJob",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			semconv.MessagingSystemKey.String("redis"),
			semconv.MessagingDestinationName(jobsStream),
			semconv.MessagingOperationTypeProcess,
			semconv.MessagingMessageID(msg.ID),
		))
	return ctx, func(err error) {
		if err != nil {
			tracing.Failed(span, err)
		}
		span.End()
	}
}

// cleanJob counts the commits in one job's statistics. Its answer is the
// contributors, as JSON; the gateway passes it on as it is. It logs whom it
// cleaned for.
func cleanJob(ctx context.Context, logger *slog.Logger, msg jobqueue.Message) ([]byte, error) {
	span := trace.SpanFromContext(ctx)
	// Baggage: the gateway, two hops back, said who asked. It came in the
	// message's headers, and lives in ctx. "" if nobody said.
	requestedBy := baggage.FromContext(ctx).Member("requested-by").Value()
	span.SetAttributes(attribute.String("requested_by", requestedBy))

	var queued job.Job
	var stats []*github.ContributorStats
	if err := json.Unmarshal(msg.Body, &queued); err != nil {
		return nil, fmt.Errorf("%w: its body is not JSON: %w", jobqueue.ErrMalformed, err) // a dead letter
	}
	span.SetAttributes(attribute.String("repo", queued.Repo))
	if err := json.Unmarshal(queued.Stats, &stats); err != nil {
		return nil, fmt.Errorf("unreadable statistics for %s: %w", queued.Repo, err)
	}
	contributors := countCommits(ctx, stats)
	logger.InfoContext(ctx, "cleaned", "repo", queued.Repo, "contributors", len(contributors), "requested_by", requestedBy)
	return json.Marshal(contributors)
}
