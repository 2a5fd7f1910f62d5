// Package jobqueue hands jobs from one program to another through Redis and
// carries each job's answer back to the program that is waiting for it.
// Steps 6 and on use it between the gateway and the cleaner. It is no
// lesson of the tutorial: the lesson is what the steps put in a message's
// headers (step 7: the trace context).
//
// The talk's demo pushed jobs on a list and waited on a list named after
// the repository: two requests for one repository could take each other's
// answers, a request waited forever when nobody answered, and a job the
// worker crashed on was gone. The promises here:
//
//   - At least once. Jobs go on a Redis stream read by a consumer group; a
//     job stays pending until a worker has written its answer, and only
//     then is it acknowledged (and deleted). A worker that dies mid-job
//     loses nothing: another one (or the same one, restarted) takes the job
//     over once it has been idle for ClaimIdle, well within a client's wait.
//   - Nothing lost without a trace. A job that cannot be read (by the
//     queue, or by its handler: ErrMalformed), that made
//     its handler panic, or that was delivered MaxDeliveries times without
//     being answered goes to the dead-letter stream with the reason and its
//     delivery count, and its client gets an error answer. The stream is
//     never trimmed: a full queue refuses new jobs (ErrFull) instead of
//     dropping old ones.
//   - Everything is bounded. Every job has a deadline: a client waits until
//     then and no longer, and a job whose client has gone is dropped with a
//     log line, not cleaned. At most MaxWaiting clients of one Queue wait
//     at once (each holds a connection to Redis while it waits): one more
//     is refused with ErrBusy before its job is queued, so that no job is
//     done for a client that was already answered with an error. A client
//     whose wait ends before its job's deadline without an answer (it gave
//     up, Redis failed) withdraws its job if no worker has it yet; after
//     the deadline, workers drop the job themselves.
//   - A worker reads a job through a script in Redis, which hands over a
//     stream entry larger than a job may be (somebody's XADD) as its size
//     and the first bytes of its values, never whole; its dead letter
//     keeps those first bytes only. A worker waiting for jobs waits on a
//     bell that Push rings (a list), not on the stream, whose blocking
//     read would hand over the entry whole. Every Redis call has a timeout, a failed one
//     is never sent twice, and every retry loop pauses.
//   - Answers go only where they belong: the answer's key is made from the
//     job's ID, never read from the message.
package jobqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Message is what travels from the producer to the worker. The queue does
// not read Body, and passes Headers along untouched: step 7 puts the
// producer span's context there, as a request's headers carry it over HTTP.
type Message struct {
	Headers map[string]string
	Body    []byte
	// ID is the job's ID in the stream, as the worker got it (Push's
	// Ticket.ID on the producer's side); Push ignores it. Step 10's spans
	// name the job by it (messaging.message.id).
	ID string
}

// Ticket is what a producer needs to wait for a job's answer. Each ticket
// holds one of the Queue's MaxWaiting places until WaitForAnswer returns:
// wait for every ticket Push gives.
type Ticket struct {
	ID       string    // the job's ID in the stream
	Deadline time.Time // the producer waits until then; workers drop the job after it

	leave func() // gives the place back, once
}

var (
	// ErrNoAnswer means no worker answered the job before its deadline.
	ErrNoAnswer = errors.New("no answer before the job's deadline")
	// ErrFull means the queue holds MaxLen jobs already; try again later.
	ErrFull = errors.New("the queue is full")
	// ErrBusy means MaxWaiting clients of this Queue wait for answers
	// already; try again later. Redis is fine, and nothing was queued.
	ErrBusy = errors.New("too many clients are waiting for answers")
	// ErrTooLarge means a message is over the queue's limits.
	ErrTooLarge = errors.New("the message is too large for the queue")
	// ErrMalformed means a job cannot be read. A Handler wraps it in its
	// error for a job whose body it cannot read: the job goes to the
	// dead-letter stream, as one the queue cannot decode does, instead
	// of being answered and forgotten.
	ErrMalformed = errors.New("malformed job")
)

// JobError is a worker's answer that the job failed, with its reason.
type JobError struct{ Reason string }

func (e *JobError) Error() string { return e.Reason }

// Limits of a message, checked when it is pushed and when it is read.
const (
	MaxBody       = 8 << 20 // bytes
	MaxHeaders    = 32      // entries
	MaxHeaderSize = 8 << 10 // bytes, names and values together

	// maxEntry bounds a stream entry, its fields and values all told: a
	// worker reads no larger one (somebody's XADD, not Push) into memory,
	// only its size and the first bytes of each value (deadLetterValue).
	maxEntry = MaxBody + MaxHeaderSize + 1<<10
	// deadLetterValue is how much of each value of a failed job its dead
	// letter keeps, and deadLetterFields how many of its fields: the
	// dead-letter stream is capped in entries (1,000), and so in bytes.
	deadLetterValue  = 1 << 10
	deadLetterFields = 16

	answerTTL = time.Minute // an answer nobody reads disappears after this
)

// Queue is one named queue on one Redis.
type Queue struct {
	rdb *redis.Client
	// Stream is the Redis stream where jobs wait: "<name>:jobs".
	Stream string
	// DeadLetters is the stream where jobs that failed are kept:
	// "<name>:dead-letter".
	DeadLetters string
	// MaxLen is how many jobs may wait or be in hand at once; Push refuses
	// more with ErrFull.
	MaxLen int64
	// MaxWaiting is how many clients of this Queue (this process) may wait
	// for answers at once (DefaultMaxWaiting); Push refuses more with ErrBusy.
	// Each one waiting holds a connection to Redis; the pool has one for
	// each, and a few more. Not more than New's pool holds.
	MaxWaiting int64

	waiting      atomic.Int64 // clients between Push and the end of WaitForAnswer
	group        string
	answerPrefix string
	bell         string // a list Push rings to wake a waiting worker
}

// DefaultMaxWaiting is MaxWaiting's default. A gateway's client waits for
// the cleaner for REPLY_TIMEOUT (15 s): with the cleaner stopped, 256 at
// once is 17 requests a second before more are turned away; with it
// working, thousands a second. 256 connections are well within Redis'
// 10,000 clients and a laptop's open files.
const DefaultMaxWaiting = 256

// New returns the queue name on the Redis at addr. It does not connect:
// Redis may come and go, and each call says whether it was there.
func New(addr, name string) *Queue {
	return &Queue{
		rdb: redis.NewClient(&redis.Options{
			Addr:        addr,
			DialTimeout: 500 * time.Millisecond, // a Redis that is down: fail fast
			ReadTimeout: 2 * time.Second,        // a Redis that hangs: fail too
			// A command whose answer timed out may have run all the same:
			// sent again, XADD would queue the job twice.
			MaxRetries: -1,
			// A caller's context ends a command at once, a blocking one
			// included, and frees its connection.
			ContextTimeoutEnabled: true,
			// Each client waiting for an answer holds one (MaxWaiting), and
			// a few more for Ping and the pushes that follow a wait.
			PoolSize:    DefaultMaxWaiting + 8,
			PoolTimeout: time.Second,
		}),
		Stream:       name + ":jobs",
		DeadLetters:  name + ":dead-letter",
		MaxLen:       10_000,
		MaxWaiting:   DefaultMaxWaiting,
		group:        name + ":workers",
		answerPrefix: name + ":answer:",
		bell:         name + ":bell",
	}
}

// Close closes the queue's connections to Redis.
func (q *Queue) Close() error { return q.rdb.Close() }

// Ping reports whether Redis answers.
func (q *Queue) Ping(ctx context.Context) error { return q.rdb.Ping(ctx).Err() }

// Push queues msg for a worker. The job's deadline is wait from now: the
// producer waits for the answer until then, and a worker that takes the
// job later drops it.
func (q *Queue) Push(ctx context.Context, msg Message, wait time.Duration) (Ticket, error) {
	if wait < time.Second {
		return Ticket{}, fmt.Errorf("jobqueue: wait %v is under a second (Redis waits in whole seconds)", wait)
	}
	if err := checkLimits(msg); err != nil {
		return Ticket{}, err
	}
	headers, err := json.Marshal(msg.Headers)
	if err != nil {
		return Ticket{}, err
	}
	// A place to wait first: a client turned away is turned away before
	// its job is queued, never after.
	if q.waiting.Add(1) > q.MaxWaiting {
		q.waiting.Add(-1)
		return Ticket{}, ErrBusy
	}
	leave := sync.OnceFunc(func() { q.waiting.Add(-1) })
	ticket, err := q.push(ctx, msg.Body, headers, wait)
	if err != nil {
		leave()
		return Ticket{}, err
	}
	ticket.leave = leave
	return ticket, nil
}

// push queues a job whose client has a place to wait.
func (q *Queue) push(ctx context.Context, body, headers []byte, wait time.Duration) (Ticket, error) {
	// Approximate under concurrent pushes, which is all a bound needs.
	waiting, err := q.rdb.XLen(ctx, q.Stream).Result()
	if err != nil {
		return Ticket{}, err
	}
	if waiting >= q.MaxLen {
		return Ticket{}, ErrFull
	}
	deadline := time.Now().Add(wait)
	id, err := q.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: q.Stream,
		Values: []any{
			"body", body,
			"headers", headers,
			"deadline", deadline.UnixMilli(),
		},
	}).Result()
	if err != nil {
		return Ticket{}, err
	}
	// Wake a worker that waits for jobs. Only a bell: without it, a worker
	// finds the job when its wait ends (readBlock).
	q.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.LPush(ctx, q.bell, 1)
		pipe.LTrim(ctx, q.bell, 0, 99)
		return nil
	})
	return Ticket{ID: id, Deadline: deadline}, nil
}

// WaitForAnswer waits for the answer to the job of ticket, until the
// job's deadline or the end of ctx. A worker's error answer is a
// *JobError; no answer in time is ErrNoAnswer. A wait that ends earlier
// without an answer (ctx ended, Redis failed) withdraws the job if no
// worker has taken it yet: nobody waits for it. After its deadline, a
// worker drops the job itself, with a log line.
func (q *Queue) WaitForAnswer(ctx context.Context, ticket Ticket) (body []byte, err error) {
	if ticket.leave != nil {
		defer ticket.leave()
	}
	defer func() {
		var failed *JobError
		if err != nil && !errors.As(err, &failed) && !errors.Is(err, ErrNoAnswer) {
			q.withdraw(ctx, ticket.ID)
		}
	}()
	for {
		if time.Now().After(ticket.Deadline) {
			return nil, ErrNoAnswer
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Wait a second at a time (Redis' smallest wait): a caller that
		// gives up frees its connection within a second, and a Redis that
		// hangs is noticed within two.
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		result, err := q.rdb.BLPop(callCtx, time.Second, q.answerKey(ticket.ID)).Result()
		cancel()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var a answer
		if err := json.Unmarshal([]byte(result[1]), &a); err != nil {
			return nil, fmt.Errorf("jobqueue: unreadable answer: %w", err)
		}
		if a.Error != "" {
			return nil, &JobError{Reason: a.Error}
		}
		return a.Body, nil
	}
}

// withdrawScript deletes a job from the stream unless a worker has it
// (it is pending), and any answer to it, at once: a worker reads the job
// whole or not at all.
var withdrawScript = redis.NewScript(`
local pending = redis.pcall('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if pending.err or #pending == 0 then redis.call('XDEL', KEYS[1], ARGV[2]) end
redis.call('DEL', KEYS[2])
return 0
`)

// withdraw takes back the job id whose client stopped waiting without an
// answer, as well as it can: Redis may be why it stopped. A job a worker
// has in hand is done all the same; its answer expires (answerTTL).
func (q *Queue) withdraw(ctx context.Context, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 500*time.Millisecond)
	defer cancel()
	withdrawScript.Run(ctx, q.rdb, []string{q.Stream, q.answerKey(id)}, q.group, id)
}

// answer is what a worker writes for the producer.
type answer struct {
	Body  []byte `json:"body,omitempty"`
	Error string `json:"error,omitempty"`
}

func (q *Queue) answerKey(id string) string { return q.answerPrefix + id }

// sendAnswer writes the answer to job id, which expires if nobody reads it
// (the producer may have given up).
func (q *Queue) sendAnswer(ctx context.Context, id string, a answer) error {
	body, err := json.Marshal(a)
	if err != nil {
		return err
	}
	_, err = q.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.RPush(ctx, q.answerKey(id), body)
		pipe.Expire(ctx, q.answerKey(id), answerTTL)
		return nil
	})
	return err
}

func checkLimits(msg Message) error {
	if len(msg.Body) > MaxBody {
		return fmt.Errorf("%w: body of %d bytes, at most %d", ErrTooLarge, len(msg.Body), MaxBody)
	}
	size := 0
	for name, value := range msg.Headers {
		size += len(name) + len(value)
	}
	if len(msg.Headers) > MaxHeaders || size > MaxHeaderSize {
		return fmt.Errorf("%w: %d headers of %d bytes, at most %d of %d", ErrTooLarge, len(msg.Headers), size, MaxHeaders, MaxHeaderSize)
	}
	return nil
}

// decode reads a job as Push wrote it.
func decode(m redis.XMessage) (Message, time.Time, error) {
	body, ok := m.Values["body"].(string)
	if !ok {
		return Message{}, time.Time{}, errors.New(`no "body" field`)
	}
	msg := Message{ID: m.ID, Body: []byte(body)}
	if headers, ok := m.Values["headers"].(string); ok {
		if err := json.Unmarshal([]byte(headers), &msg.Headers); err != nil {
			return Message{}, time.Time{}, fmt.Errorf("headers are not a JSON object of strings: %w", err)
		}
	}
	deadline, ok := m.Values["deadline"].(string)
	if !ok {
		return Message{}, time.Time{}, errors.New(`no "deadline" field`)
	}
	ms, err := strconv.ParseInt(deadline, 10, 64)
	if err != nil {
		return Message{}, time.Time{}, fmt.Errorf("deadline %q is not a time in milliseconds", deadline)
	}
	if err := checkLimits(msg); err != nil {
		return Message{}, time.Time{}, err
	}
	return msg, time.UnixMilli(ms), nil
}
