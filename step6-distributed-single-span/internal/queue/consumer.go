package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Handler cleans one job and returns the reply for the gateway.
type Handler func(ctx context.Context, job Job) Reply

// Consumer reads jobs from the stream as one member of the cleaners' group.
type Consumer struct {
	Redis  *redis.Client
	Logger *slog.Logger
	// Name identifies this cleaner in the group. Keep it stable across
	// restarts: a restarted cleaner first finishes the jobs it had taken.
	Name string
	// Workers is how many jobs are cleaned at once.
	Workers int
	// ClaimIdle is how long a job may stay pending at another cleaner
	// before this one takes it over (that cleaner is presumed dead).
	ClaimIdle time.Duration
}

// Run cleans jobs until ctx ends. A job in hand is finished first.
func (c *Consumer) Run(ctx context.Context, handle Handler) error {
	c.ensureGroup(ctx)
	c.finishOwnPendingJobs(ctx, handle)

	var wg sync.WaitGroup
	for range c.Workers {
		wg.Go(func() { c.readNewJobs(ctx, handle) })
	}
	wg.Go(func() { c.claimAbandonedJobs(ctx, handle) })
	wg.Wait()
	return nil
}

// ensureGroup creates the consumer group (and the stream) unless it exists.
// Starting at "0" means jobs added before the group existed are read too.
func (c *Consumer) ensureGroup(ctx context.Context) {
	for ctx.Err() == nil {
		err := c.Redis.XGroupCreateMkStream(ctx, JobsStream, Group, "0").Err()
		if err == nil || strings.HasPrefix(err.Error(), "BUSYGROUP") {
			return
		}
		c.Logger.Error("cannot create the consumer group; retrying", "error", err)
		sleep(ctx, time.Second)
	}
}

// finishOwnPendingJobs cleans the jobs this cleaner had read but not
// acknowledged when it last stopped: reading from ID "0" instead of ">"
// returns them again.
func (c *Consumer) finishOwnPendingJobs(ctx context.Context, handle Handler) {
	for ctx.Err() == nil {
		messages, err := c.read(ctx, "0", 0)
		if err != nil {
			c.waitAfterError(ctx, err)
			continue
		}
		if len(messages) == 0 {
			return
		}
		for _, message := range messages {
			c.Logger.Info("finishing a job taken before a restart", "id", message.ID)
			c.process(ctx, message, handle)
		}
	}
}

func (c *Consumer) readNewJobs(ctx context.Context, handle Handler) {
	for ctx.Err() == nil {
		messages, err := c.read(ctx, ">", 2*time.Second)
		if err != nil {
			c.waitAfterError(ctx, err)
			continue
		}
		for _, message := range messages {
			c.process(ctx, message, handle)
		}
	}
}

// claimAbandonedJobs takes over jobs that another cleaner took and never
// acknowledged, once they have been pending for ClaimIdle.
func (c *Consumer) claimAbandonedJobs(ctx context.Context, handle Handler) {
	for sleep(ctx, c.ClaimIdle/2) {
		messages, _, err := c.Redis.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: JobsStream, Group: Group, Consumer: c.Name,
			MinIdle: c.ClaimIdle, Start: "0-0", Count: 10,
		}).Result()
		if err != nil {
			continue // the readers log Redis' troubles
		}
		for _, message := range messages {
			c.Logger.Warn("took over an abandoned job", "id", message.ID)
			c.process(ctx, message, handle)
		}
	}
}

func (c *Consumer) read(ctx context.Context, from string, block time.Duration) ([]redis.XMessage, error) {
	streams, err := c.Redis.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: Group, Consumer: c.Name,
		Streams: []string{JobsStream, from},
		Count:   1, Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil // nothing new within block
	}
	if err != nil || len(streams) == 0 {
		return nil, err // an error comes with no streams: keep it
	}
	return streams[0].Messages, nil
}

// waitAfterError logs a Redis failure and waits a moment before the caller
// tries again. Redis restarted empty loses the group: make it again.
func (c *Consumer) waitAfterError(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	c.Logger.Error("reading jobs failed; retrying", "error", err)
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		c.ensureGroup(ctx)
	}
	sleep(ctx, time.Second)
}

// process cleans one job, replies and acknowledges it. A job that cannot
// be read goes to the dead-letter stream. If the reply cannot be sent, the
// job is not acknowledged, so it is cleaned again later.
func (c *Consumer) process(ctx context.Context, message redis.XMessage, handle Handler) {
	// A job in hand is finished even when we are asked to stop.
	ctx = context.WithoutCancel(ctx)
	logger := c.Logger.With("id", message.ID)

	job, err := decodeJob(message)
	if err != nil {
		c.deadLetter(ctx, logger, message, err)
		return
	}
	reply, err := handleSafely(ctx, handle, job)
	if err != nil {
		c.deadLetter(ctx, logger, message, err)
		reply = Reply{Error: "the cleaner could not clean this job"}
	}
	if err := SendReply(ctx, c.Redis, job.ReplyTo, reply); err != nil {
		logger.Error("cannot reply; the job stays pending", "error", err)
		return
	}
	if err := c.Redis.XAck(ctx, JobsStream, Group, message.ID).Err(); err != nil {
		logger.Error("cannot acknowledge the job; it will be cleaned again", "error", err)
	}
}

func decodeJob(message redis.XMessage) (Job, error) {
	body, ok := message.Values["job"].(string)
	if !ok {
		return Job{}, errors.New(`no "job" field`)
	}
	var job Job
	if err := json.Unmarshal([]byte(body), &job); err != nil {
		return Job{}, fmt.Errorf("job is not JSON: %w", err)
	}
	if job.ReplyTo == "" || len(job.Stats) == 0 {
		return Job{}, errors.New("job lacks reply_to or stats")
	}
	return job, nil
}

// handleSafely turns a panic in handle into an error: one bad job must not
// take the cleaner down with it (the talk's worker died, and the job with it).
func handleSafely(ctx context.Context, handle Handler, job Job) (reply Reply, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cleaning panicked: %v", p)
		}
	}()
	return handle(ctx, job), nil
}

// deadLetter parks a job that cannot be cleaned, with the reason, and
// acknowledges it so that it is not delivered again and again.
func (c *Consumer) deadLetter(ctx context.Context, logger *slog.Logger, message redis.XMessage, reason error) {
	logger.Error("job moved to the dead-letter stream", "stream", DeadLetterStream, "reason", reason)
	values := map[string]any{"id": message.ID, "reason": reason.Error()}
	for key, value := range message.Values {
		values["job."+key] = value
	}
	if err := c.Redis.XAdd(ctx, &redis.XAddArgs{Stream: DeadLetterStream, Values: values}).Err(); err != nil {
		logger.Error("cannot park the job; it stays pending", "error", err)
		return
	}
	c.Redis.XAck(ctx, JobsStream, Group, message.ID)
}

// sleep waits for d unless ctx ends first; it reports whether ctx is alive.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
