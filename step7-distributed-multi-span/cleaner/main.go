// The cleaner: takes jobs from the Redis queue, counts the commits in
// GitHub's raw statistics, and replies to the gateway that asked.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/queue"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/tracing"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/web"
)

func main() { web.Run("cleaner", run) }

func run(ctx context.Context, logger *slog.Logger) error {
	closer, err := tracing.Init("cleaner", logger)
	if err != nil {
		return err
	}
	defer closer.Close() // flush the last spans on the way out

	rdb := redis.NewClient(&redis.Options{Addr: web.EnvOr("REDIS_ADDR", "localhost:6379")})
	defer rdb.Close()
	hostname, _ := os.Hostname()
	consumer := &queue.Consumer{
		Redis:     rdb,
		Logger:    logger,
		Name:      web.EnvOr("CLEANER_NAME", hostname),
		Workers:   4,
		ClaimIdle: 30 * time.Second,
	}

	// A health endpoint, for docker compose and the tests.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", web.Healthz)
	mux.HandleFunc("/", web.NotFound)
	server := web.NewServer("8002", mux)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { consumer.Run(ctx, cleanJob) })
	err = web.Serve(ctx, logger, server)
	cancel()  // the server has stopped: stop taking jobs too
	wg.Wait() // let the jobs in hand finish
	return err
}

// cleanJob turns one job's raw statistics into the gateway's answer.
func cleanJob(ctx context.Context, job queue.Job) queue.Reply {
	// Continue the gateway's trace: its span context came inside the job.
	// A job without one (or with a broken one) starts a new trace.
	parent, _ := opentracing.GlobalTracer().Extract(opentracing.TextMap, opentracing.TextMapCarrier(job.Trace))
	span := opentracing.StartSpan("cleanJob", opentracing.ChildOf(parent), ext.SpanKindConsumer)
	defer span.Finish()
	ext.MessageBusDestination.Set(span, queue.JobsStream)
	span.SetTag("repo", job.Repo)
	ctx = opentracing.ContextWithSpan(ctx, span)

	var stats []*github.ContributorStats
	if err := json.Unmarshal(job.Stats, &stats); err != nil {
		ext.Error.Set(span, true)
		return queue.Reply{Error: fmt.Sprintf("unreadable statistics for %s: %v", job.Repo, err)}
	}
	return queue.Reply{Contributors: countCommits(ctx, stats)}
}
