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
	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/job"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/tracing"
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

	tracer, closer, err := tracing.Init("cleaner", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out
	opentracing.SetGlobalTracer(tracer)

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
	jobs.Go(func() { worker.Run(ctx, cleanJob) })
	// /healthz only, for docker compose and the tests: 503 when the worker
	// has not heard from Redis lately.
	err = web.ServeHealth(ctx, logger, net.JoinHostPort(os.Getenv("HOST"), web.EnvOr("PORT", "8002")), worker.Healthy)
	cancel()    // the server has stopped (or never started): take no more jobs
	jobs.Wait() // and finish the ones in hand
	return err
}

// traceJob starts a job's span; the worker does the job (cleanJob) in the
// returned ctx, then ends the span with the job's error.
//
// It continues the gateway's trace: its span context came in the message's
// headers. The job follows from the gateway's queue.Push rather than
// being its child: see the README. No context, or a broken one, gives a
// nil reference: a new trace.
func traceJob(ctx context.Context, msg jobqueue.Message) (context.Context, func(error)) {
	producer, _ := opentracing.GlobalTracer().Extract(opentracing.TextMap, opentracing.TextMapCarrier(msg.Headers))
	span := opentracing.StartSpan("cleanJob", opentracing.FollowsFrom(producer), ext.SpanKindConsumer)
	return opentracing.ContextWithSpan(ctx, span), func(err error) {
		if err != nil {
			ext.LogError(span, err)
		}
		span.Finish()
	}
}

// cleanJob counts the commits in one job's statistics. Its answer is the
// contributors, as JSON; the gateway passes it on as it is.
func cleanJob(ctx context.Context, msg jobqueue.Message) ([]byte, error) {
	var queued job.Job
	var stats []*github.ContributorStats
	if err := json.Unmarshal(msg.Body, &queued); err != nil {
		return nil, fmt.Errorf("%w: its body is not JSON: %w", jobqueue.ErrMalformed, err) // a dead letter
	}
	opentracing.SpanFromContext(ctx).SetTag("repo", queued.Repo)
	if err := json.Unmarshal(queued.Stats, &stats); err != nil {
		return nil, fmt.Errorf("unreadable statistics for %s: %w", queued.Repo, err)
	}
	return json.Marshal(countCommits(ctx, stats))
}
