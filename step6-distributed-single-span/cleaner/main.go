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
	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/step6-distributed-single-span/internal/queue"
	"github.com/tracing-tutorial/tutorial/step6-distributed-single-span/internal/web"
)

func main() { web.Run("cleaner", run) }

func run(ctx context.Context, logger *slog.Logger) error {
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
	err := web.Serve(ctx, logger, server)
	cancel()  // the server has stopped: stop taking jobs too
	wg.Wait() // let the jobs in hand finish
	return err
}

// cleanJob turns one job's raw statistics into the gateway's answer.
func cleanJob(ctx context.Context, job queue.Job) queue.Reply {
	var stats []*github.ContributorStats
	if err := json.Unmarshal(job.Stats, &stats); err != nil {
		return queue.Reply{Error: fmt.Sprintf("unreadable statistics for %s: %v", job.Repo, err)}
	}
	return queue.Reply{Contributors: countCommits(stats)}
}
