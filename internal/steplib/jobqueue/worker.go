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
	// Trace, if set, starts a job's span, from the trace context its
	// headers carry: it returns the job's context, holding the span, and
	// a function that ends the span with the job's error (nil: done). The
	// handler runs in that context, and the worker logs its lines about
	// the job with it (Logger's *Context methods): a log handler that
	// reads the span from the context ties each line to the job's trace.
	Trace func(ctx context.Context, msg Message) (context.Context, func(error))

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
		// A deadline, not only ctx: a Redis that hangs is given up.
		readCtx, cancel := context.WithTimeout(ctx, readBlock+time.Second)
		job, err := w.read(readCtx, takeScript, []string{w.Queue.Stream},
			w.Queue.group, w.Name, maxEntry, deadLetterValue, deadLetterFields)
		if errors.Is(err, redis.Nil) {
			// None waits: wait for Push's bell, readBlock at most (a job
			// queued by other means is found then).
			err = w.Queue.rdb.BLPop(readCtx, readBlock, w.Queue.bell).Err()
		}
		cancel()
		w.redisAnswered(err)
		switch {
		case err == nil && job != nil:
			w.process(ctx, *job, 1, handle, "")
		case err != nil && !errors.Is(err, redis.Nil):
			w.failedRead(ctx, err)
		}
	}
}

// A stream entry is read by a script in Redis, which hands over an entry
// larger than maxEntry as its size and the first bytes of its values, not
// whole: one 100 MB entry took a worker from 16 to 211 MB (issue 20,
// finding 4). takeScript reads the next new job as XREADGROUP does;
// claimScript takes one over as XCLAIM does (counting one more delivery).
// Each returns the entry's ID, its fields and values, and its size, or
// nil for none.
const boundEntry = `
local function bound(entry, maxEntry, keep, fields)
  if not entry or not entry[2] then return false end
  local size = 0
  for _, v in ipairs(entry[2]) do size = size + #v end
  if size <= maxEntry then return {entry[1], entry[2], size} end
  local cut = {}
  for i = 1, math.min(#entry[2], 2 * fields) do cut[i] = string.sub(entry[2][i], 1, keep) end
  return {entry[1], cut, size}
end
`

var (
	takeScript = redis.NewScript(boundEntry + `
local r = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[1], '>')
if not r then return false end
return bound(r[1][2][1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
`)
	claimScript = redis.NewScript(boundEntry + `
local r = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[6], ARGV[7])
return bound(r[1], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
`)
)

// goneScript counts, at once, job ARGV[2]'s entries in the pending list of
// group ARGV[1] and in the stream KEYS[1] (gone).
var goneScript = redis.NewScript(`
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
local present = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
return {#pending, #present}
`)

// entry is a stream entry as the scripts hand it over.
type entry struct {
	redis.XMessage
	size int64 // its fields and values, all told: over maxEntry, Values are cut
}

// read runs script (takeScript, claimScript) and returns the entry it
// hands over; redis.Nil for none.
func (w *Worker) read(ctx context.Context, script *redis.Script, keys []string, args ...any) (*entry, error) {
	result, err := script.Run(ctx, w.Queue.rdb, keys, args...).Slice()
	if err != nil {
		return nil, err
	}
	if len(result) != 3 {
		return nil, fmt.Errorf("jobqueue: the script answered %d values, want 3", len(result))
	}
	id, _ := result[0].(string)
	fields, _ := result[1].([]any)
	size, _ := result[2].(int64)
	values := make(map[string]any, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		key, _ := fields[i].(string)
		values[key] = fields[i+1]
	}
	return &entry{XMessage: redis.XMessage{ID: id, Values: values}, size: size}, nil
}

// failedRead logs a Redis failure and pauses. Redis restarted empty has
// lost the group: make it again.
func (w *Worker) failedRead(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	w.Logger.Error("reading jobs failed; retrying", "error", err)
	if strings.Contains(err.Error(), "NOGROUP") { // in a script's error too
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
			claimed, err := w.read(ctx, claimScript, []string{w.Queue.Stream}, w.Queue.group, w.Name,
				maxEntry, deadLetterValue, deadLetterFields, w.ClaimIdle.Milliseconds(), p.ID)
			if err != nil {
				continue // another worker took it first, or finished it meanwhile
			}
			w.process(ctx, *claimed, p.RetryCount+1, handle, p.Consumer)
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
// alike; and by a script, which counts the entry without reading it out.
func (w *Worker) gone(ctx context.Context, id string) bool {
	counts, err := goneScript.Run(ctx, w.Queue.rdb, []string{w.Queue.Stream}, w.Queue.group, id).Int64Slice()
	if err != nil || len(counts) != 2 {
		return true // try again on the next round
	}
	pending, present := counts[0], counts[1]
	switch {
	case present > 0:
		return false // still there: take it over
	case pending == 0:
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
// takenFrom names the worker it was taken over from, "" for a new job.
func (w *Worker) process(ctx context.Context, job entry, deliveries int64, handle Handler, takenFrom string) {
	m := job.XMessage
	// A job in hand is finished even when the worker is asked to stop.
	ctx = context.WithoutCancel(ctx)
	logger := w.Logger.With("job", m.ID, "deliveries", deliveries)
	w.inHand.Store(m.ID, true)
	defer w.inHand.Delete(m.ID)
	defer w.keepInHand(ctx, m.ID)()

	msg, deadline, err := decode(m)
	if err == nil && job.size <= maxEntry && w.Trace != nil {
		var end func(error)
		ctx, end = w.Trace(ctx, msg)
		defer func() { end(err) }() // the job's outcome, as the branches below set it
	}
	if takenFrom != "" {
		logger.WarnContext(ctx, "took over an abandoned job", "from", takenFrom)
	}
	start := time.Now()
	switch {
	case job.size > maxEntry:
		w.giveUp(ctx, logger, m, deliveries, fmt.Sprintf("%v: an entry of %d bytes, at most %d", ErrTooLarge, job.size, maxEntry))
	case err != nil:
		w.giveUp(ctx, logger, m, deliveries, fmt.Sprintf("%v: %v", ErrMalformed, err))
	case deliveries > w.MaxDeliveries:
		err = fmt.Errorf("delivered %d times without an answer", deliveries-1)
		w.giveUp(ctx, logger, m, deliveries, err.Error())
	case time.Now().After(deadline):
		logger.WarnContext(ctx, "dropped a job whose client stopped waiting", "late", time.Since(deadline).Round(time.Millisecond))
		w.ack(ctx, logger, m.ID)
	default:
		err = w.handle(ctx, logger, m, deliveries, msg, handle)
		// One line per job, as the services log one per request.
		logger.InfoContext(ctx, "job", "failed", err != nil, "duration", time.Since(start))
	}
}

// handle does the job and answers it; it returns the job's error.
func (w *Worker) handle(ctx context.Context, logger *slog.Logger, m redis.XMessage, deliveries int64, msg Message, handle Handler) error {
	body, err, panicked := handleSafely(ctx, handle, msg)
	if panicked {
		w.giveUp(ctx, logger, m, deliveries, err.Error())
		return err
	}
	if errors.Is(err, ErrMalformed) { // the handler cannot read the job either
		w.giveUp(ctx, logger, m, deliveries, err.Error())
		return err
	}
	a := answer{Body: body}
	if err != nil {
		logger.WarnContext(ctx, "the job failed; its client is told why", "error", err)
		a = answer{Error: err.Error()}
	}
	if err := w.Queue.sendAnswer(ctx, m.ID, a); err != nil {
		logger.ErrorContext(ctx, "cannot write the answer; the job stays pending and will be delivered again", "error", err)
		return err
	}
	w.ack(ctx, logger, m.ID)
	return err
}

// ack acknowledges a job and deletes it from the stream: done with.
func (w *Worker) ack(ctx context.Context, logger *slog.Logger, id string) {
	_, err := w.Queue.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAck(ctx, w.Queue.Stream, w.Queue.group, id)
		pipe.XDel(ctx, w.Queue.Stream, id)
		return nil
	})
	if err != nil {
		logger.ErrorContext(ctx, "cannot acknowledge the job; it will be delivered again", "error", err)
	}
}

// giveUp answers the job's client with an error, then moves the job to the
// dead-letter stream with the reason and its delivery count. If either
// cannot be written, the job stays pending.
func (w *Worker) giveUp(ctx context.Context, logger *slog.Logger, m redis.XMessage, deliveries int64, reason string) {
	logger.ErrorContext(ctx, "job moved to the dead-letter stream", "stream", w.Queue.DeadLetters, "reason", reason)
	if err := w.Queue.sendAnswer(ctx, m.ID, answer{Error: "the job failed: " + reason}); err != nil {
		logger.ErrorContext(ctx, "cannot write the answer; the job stays pending", "error", err)
		return
	}
	// What the job held, each value cut to its first deadLetterValue
	// bytes: a dead letter of an oversized job is no oversized entry.
	values := []any{"job", m.ID, "reason", reason, "deliveries", deliveries}
	for key, value := range m.Values {
		if len(values) >= 6+2*deadLetterFields {
			break
		}
		s := fmt.Sprint(value)
		values = append(values, "job."+key[:min(len(key), deadLetterValue)], s[:min(len(s), deadLetterValue)])
	}
	_, err := w.Queue.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: w.Queue.DeadLetters, MaxLen: 1000, Approx: true, Values: values})
		pipe.XAck(ctx, w.Queue.Stream, w.Queue.group, m.ID)
		pipe.XDel(ctx, w.Queue.Stream, m.ID)
		return nil
	})
	if err != nil {
		logger.ErrorContext(ctx, "cannot move the job to the dead-letter stream; it stays pending", "error", err)
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
