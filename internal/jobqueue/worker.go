package jobqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Handler does one job and returns the body of its answer, or an error
// that the producer gets as a *JobError.
type Handler func(ctx context.Context, msg Message) ([]byte, error)

// Worker takes jobs from a Queue as one member of its workers' group.
type Worker struct {
	Queue  *Queue
	Logger *slog.Logger
	// Name identifies this worker in the group. Keep it stable across
	// restarts, so that the jobs it had in hand are found under its name.
	Name string
	// Jobs is how many jobs are done at once (default 4).
	Jobs int
	// ClaimIdle is how long a job may sit, untouched, in another worker's
	// hands before this one takes it over (default 5 s). A worker touches
	// the jobs in its hands every ClaimIdle/3, however long they take.
	ClaimIdle time.Duration
	// MaxDeliveries is how many times a job is handed out before it is
	// given up (default 3): a job that crashes its worker is not replayed
	// forever.
	MaxDeliveries int64

	lastAnswer atomic.Int64 // unix ms of the last answer from Redis
	inHand     sync.Map     // the IDs of the jobs this worker is doing
}

// readBlock is how long one read waits for a new job.
const readBlock = 2 * time.Second

// pause is how long a loop waits after a failure before it tries again.
const pause = time.Second

// Run does jobs until ctx ends; the jobs in hand are finished first.
func (w *Worker) Run(ctx context.Context, handle Handler) {
	if w.Jobs <= 0 {
		w.Jobs = 4
	}
	if w.ClaimIdle <= 0 {
		w.ClaimIdle = 5 * time.Second
	}
	if w.MaxDeliveries <= 0 {
		w.MaxDeliveries = 3
	}
	w.ensureGroup(ctx)
	var wg sync.WaitGroup
	for range w.Jobs {
		wg.Go(func() { w.takeNewJobs(ctx, handle) })
	}
	wg.Go(func() { w.takeOverAbandonedJobs(ctx, handle) })
	wg.Wait()
}

// Healthy says whether the worker can take jobs: Redis answered it lately.
func (w *Worker) Healthy() error {
	last := w.lastAnswer.Load()
	if last == 0 {
		return errors.New("not connected to Redis yet")
	}
	if since := time.Since(time.UnixMilli(last)); since > 3*readBlock {
		return fmt.Errorf("no answer from Redis for %v", since.Round(time.Second))
	}
	return nil
}

// redisAnswered notes that Redis answered (or rightly had nothing to say).
func (w *Worker) redisAnswered(err error) {
	if err == nil || errors.Is(err, redis.Nil) {
		w.lastAnswer.Store(time.Now().UnixMilli())
	}
}

// ensureGroup creates the workers' group (and the stream) unless it exists.
// Starting at "0", jobs queued before the group existed are done too.
func (w *Worker) ensureGroup(ctx context.Context) {
	for ctx.Err() == nil {
		err := w.Queue.rdb.XGroupCreateMkStream(ctx, w.Queue.Stream, w.Queue.group, "0").Err()
		if err == nil || strings.HasPrefix(err.Error(), "BUSYGROUP") {
			w.redisAnswered(nil)
			return
		}
		w.Logger.Error("cannot create the workers' group; retrying", "error", err)
		sleep(ctx, pause)
	}
}

func (w *Worker) takeNewJobs(ctx context.Context, handle Handler) {
	for ctx.Err() == nil {
		// A deadline, not only ctx: a cancelled read goes on until its
		// deadline, and a Redis that hangs is given up a second after the
		// block ends.
		readCtx, cancel := context.WithTimeout(ctx, readBlock+time.Second)
		streams, err := w.Queue.rdb.XReadGroup(readCtx, &redis.XReadGroupArgs{
			Group: w.Queue.group, Consumer: w.Name,
			Streams: []string{w.Queue.Stream, ">"},
			Count:   1, Block: readBlock,
		}).Result()
		cancel()
		w.redisAnswered(err)
		if err != nil && !errors.Is(err, redis.Nil) {
			w.failedRead(ctx, err)
			continue
		}
		for _, s := range streams {
			for _, m := range s.Messages {
				w.process(ctx, m, 1, handle)
			}
		}
	}
}

// failedRead logs a Redis failure and pauses. Redis restarted empty has
// lost the group: make it again.
func (w *Worker) failedRead(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	w.Logger.Error("reading jobs failed; retrying", "error", err)
	if strings.HasPrefix(err.Error(), "NOGROUP") {
		w.ensureGroup(ctx)
	}
	sleep(ctx, pause)
}

// takeOverAbandonedJobs takes the jobs that have sat in a worker's hands,
// untouched, for ClaimIdle: that worker died (this one, before a restart,
// included). Taking a job over counts as one more delivery.
//
// A worker that was frozen (SIGSTOP, a laptop's lid closed) and resumes
// has not touched its jobs for a while either: it must neither take over
// the jobs its own readers are doing (they would be done twice), nor take
// a job that another worker finished meanwhile for one deleted unfinished.
func (w *Worker) takeOverAbandonedJobs(ctx context.Context, handle Handler) {
	for sleep(ctx, w.ClaimIdle/4) {
		abandoned, err := w.Queue.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: w.Queue.Stream, Group: w.Queue.group,
			Idle: w.ClaimIdle, Start: "-", End: "+", Count: 10,
		}).Result()
		w.redisAnswered(err)
		if err != nil {
			continue // the readers log Redis' troubles
		}
		for _, p := range abandoned {
			if _, mine := w.inHand.Load(p.ID); mine {
				continue // one of this worker's readers is doing it
			}
			if w.gone(ctx, p.ID) {
				continue
			}
			claimed, err := w.Queue.rdb.XClaim(ctx, &redis.XClaimArgs{
				Stream: w.Queue.Stream, Group: w.Queue.group, Consumer: w.Name,
				MinIdle: w.ClaimIdle, Messages: []string{p.ID},
			}).Result()
			if err != nil || len(claimed) == 0 {
				continue // another worker took it first, or finished it meanwhile
			}
			w.Logger.Warn("took over an abandoned job", "job", p.ID, "from", p.Consumer)
			w.process(ctx, claimed[0], p.RetryCount+1, handle)
		}
	}
}

// gone reports whether the pending job id is no longer in the stream. A
// job done is acknowledged and deleted at once (ack), so a job that is
// still pending yet missing from the stream was deleted by somebody before
// it was done: its client still gets an answer, and the loss is logged. A
// job that is neither pending nor in the stream was done meanwhile: nothing
// to say. Both are read at once, before XCLAIM, which drops deleted
// entries from the pending list (Redis 7) and would make the two look
// alike.
func (w *Worker) gone(ctx context.Context, id string) bool {
	var pending *redis.XPendingExtCmd
	var entries *redis.XMessageSliceCmd
	_, err := w.Queue.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pending = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{
			Stream: w.Queue.Stream, Group: w.Queue.group, Start: id, End: id, Count: 1,
		})
		entries = pipe.XRange(ctx, w.Queue.Stream, id, id)
		return nil
	})
	if err != nil {
		return true // try again on the next round
	}
	switch {
	case len(entries.Val()) > 0:
		return false // still there: take it over
	case len(pending.Val()) == 0:
		return true // done meanwhile (by a worker that was only slow)
	}
	w.Logger.Error("a job was deleted from the stream before it was done", "job", id)
	if err := w.Queue.sendAnswer(ctx, id, answer{Error: "the job was lost: it was deleted from the queue"}); err == nil {
		w.Queue.rdb.XAck(ctx, w.Queue.Stream, w.Queue.group, id)
	}
	return true
}

// process does one job that was delivered for the deliveries-th time. A job
// left pending is delivered again after ClaimIdle. The order matters: the answer
// is written first, and only then is the job acknowledged; a job whose
// answer cannot be written stays pending and is delivered again.
func (w *Worker) process(ctx context.Context, m redis.XMessage, deliveries int64, handle Handler) {
	// A job in hand is finished even when the worker is asked to stop.
	ctx = context.WithoutCancel(ctx)
	logger := w.Logger.With("job", m.ID, "deliveries", deliveries)
	w.inHand.Store(m.ID, true)
	defer w.inHand.Delete(m.ID)
	defer w.keepInHand(ctx, m.ID)()

	msg, deadline, err := decode(m)
	switch {
	case err != nil:
		w.giveUp(ctx, logger, m, deliveries, fmt.Sprintf("%v: %v", ErrMalformed, err))
	case deliveries > w.MaxDeliveries:
		w.giveUp(ctx, logger, m, deliveries,
			fmt.Sprintf("delivered %d times without an answer", deliveries-1))
	case time.Now().After(deadline):
		logger.Warn("dropped a job whose client stopped waiting", "late", time.Since(deadline).Round(time.Millisecond))
		w.ack(ctx, logger, m.ID)
	default:
		w.handle(ctx, logger, m, deliveries, msg, handle)
	}
}

func (w *Worker) handle(ctx context.Context, logger *slog.Logger, m redis.XMessage, deliveries int64, msg Message, handle Handler) {
	body, err, panicked := handleSafely(ctx, handle, msg)
	if panicked {
		w.giveUp(ctx, logger, m, deliveries, err.Error())
		return
	}
	if errors.Is(err, ErrMalformed) { // the handler cannot read the job either
		w.giveUp(ctx, logger, m, deliveries, err.Error())
		return
	}
	a := answer{Body: body}
	if err != nil {
		logger.Warn("the job failed; its client is told why", "error", err)
		a = answer{Error: err.Error()}
	}
	if err := w.Queue.sendAnswer(ctx, m.ID, a); err != nil {
		logger.Error("cannot write the answer; the job stays pending and will be delivered again", "error", err)
		return
	}
	w.ack(ctx, logger, m.ID)
}

// ack acknowledges a job and deletes it from the stream: done with.
func (w *Worker) ack(ctx context.Context, logger *slog.Logger, id string) {
	_, err := w.Queue.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAck(ctx, w.Queue.Stream, w.Queue.group, id)
		pipe.XDel(ctx, w.Queue.Stream, id)
		return nil
	})
	if err != nil {
		logger.Error("cannot acknowledge the job; it will be delivered again", "error", err)
	}
}

// giveUp answers the job's client with an error, then moves the job to the
// dead-letter stream with the reason and its delivery count. If either
// cannot be written, the job stays pending.
func (w *Worker) giveUp(ctx context.Context, logger *slog.Logger, m redis.XMessage, deliveries int64, reason string) {
	logger.Error("job moved to the dead-letter stream", "stream", w.Queue.DeadLetters, "reason", reason)
	if err := w.Queue.sendAnswer(ctx, m.ID, answer{Error: "the job failed: " + reason}); err != nil {
		logger.Error("cannot write the answer; the job stays pending", "error", err)
		return
	}
	values := []any{"job", m.ID, "reason", reason, "deliveries", deliveries}
	for key, value := range m.Values {
		values = append(values, "job."+key, value)
	}
	_, err := w.Queue.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: w.Queue.DeadLetters, MaxLen: 1000, Approx: true, Values: values})
		pipe.XAck(ctx, w.Queue.Stream, w.Queue.group, m.ID)
		pipe.XDel(ctx, w.Queue.Stream, m.ID)
		return nil
	})
	if err != nil {
		logger.Error("cannot move the job to the dead-letter stream; it stays pending", "error", err)
	}
}

// keepInHand touches job id every ClaimIdle/3 until the returned function
// is called, so that no other worker takes over a job that is merely slow.
func (w *Worker) keepInHand(ctx context.Context, id string) (done func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for sleep(ctx, w.ClaimIdle/3) {
			// JUSTID: touching is not one more delivery.
			w.Queue.rdb.XClaimJustID(ctx, &redis.XClaimArgs{
				Stream: w.Queue.Stream, Group: w.Queue.group, Consumer: w.Name,
				Messages: []string{id},
			})
		}
	})
	return func() { cancel(); wg.Wait() }
}

// handleSafely turns a panic in handle into an error: one bad job must not
// take the worker down with it (the talk's worker died, and the job with it).
func handleSafely(ctx context.Context, handle Handler, msg Message) (body []byte, err error, panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			body, err, panicked = nil, fmt.Errorf("the handler panicked: %v", p), true
		}
	}()
	body, err = handle(ctx, msg)
	return body, err, false
}

// sleep waits for d unless ctx ends first; it reports whether ctx is alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
