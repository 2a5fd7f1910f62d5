package jobqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestAnswerAndHeadersCarriedUntouched(t *testing.T) {
	q := newQueue(t)
	headers := map[string]string{"uber-trace-id": "abc:def:0:1", "uberctx-who": "a learner", "": "empty name"}
	var mu sync.Mutex
	var got map[string]string
	var gotID string
	q.worker(t, "w1", func(ctx context.Context, msg Message) ([]byte, error) {
		mu.Lock()
		got, gotID = msg.Headers, msg.ID
		mu.Unlock()
		return []byte("answer to " + string(msg.Body)), nil
	})

	ticket, err := q.Push(context.Background(), Message{Headers: headers, Body: []byte("job 1")}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	q.wantAnswer(t, ticket, "answer to job 1")
	mu.Lock()
	defer mu.Unlock()
	if !maps.Equal(got, headers) {
		t.Errorf("the handler got headers %q, want %q", got, headers)
	}
	// The worker's side knows the job by the ID the producer's ticket has.
	if gotID != ticket.ID {
		t.Errorf("the handler got the job's ID %q, want the ticket's %q", gotID, ticket.ID)
	}
}

func TestJobErrorIsAnswered(t *testing.T) {
	q := newQueue(t)
	q.worker(t, "w1", func(ctx context.Context, msg Message) ([]byte, error) {
		return nil, errors.New("unreadable statistics")
	})
	q.wantJobError(t, q.push(t, "job", 5*time.Second), "unreadable statistics")
	if n := len(q.deadLetters(t)); n != 0 {
		t.Errorf("%d dead letters; an answered failure is no dead letter", n)
	}
}

// Done jobs are acknowledged and deleted: the stream holds only the jobs
// that wait or are in hand, so it needs no trimming.
func TestDoneJobsLeaveTheStream(t *testing.T) {
	q := newQueue(t)
	q.worker(t, "w1", echo)
	for i := range 5 {
		q.wantAnswer(t, q.push(t, fmt.Sprint(i), 5*time.Second), fmt.Sprint(i))
	}
	eventually(t, 5*time.Second, "the done jobs are still in the stream", func() bool {
		return q.length(t, q.Stream) == 0 && q.pending(t) == 0
	})
}

// The answer is written before the job is acknowledged: if it cannot be
// written, the job stays pending (and is delivered again), never lost.
func TestNoAnswerWrittenNoAck(t *testing.T) {
	q := newQueue(t)
	refuse := failCommands("rpush") // the answer
	handled := count(echo)
	logs := q.worker(t, "w1", handled.Handle, func(w *Worker) { w.Queue.rdb.AddHook(refuse) })
	q.push(t, "job", 10*time.Second)

	eventually(t, 5*time.Second, "the job was never handled", func() bool { return handled.Calls("job") > 0 })
	eventually(t, 5*time.Second, "no log of the failed answer", func() bool {
		return strings.Contains(logs.String(), "cannot write the answer")
	})
	if n := q.pending(t); n != 1 {
		t.Fatalf("%d jobs pending after a failed answer, want 1 (acknowledged before its answer was written?)", n)
	}
}

// A handler that panics gives its client an error answer, parks the job
// with the reason, and the worker goes on with the next job.
func TestPanicIsAnsweredAndDeadLettered(t *testing.T) {
	q := newQueue(t)
	q.worker(t, "w1", func(ctx context.Context, msg Message) ([]byte, error) {
		if string(msg.Body) == "bad" {
			panic("index out of range")
		}
		return msg.Body, nil
	})
	q.wantJobError(t, q.push(t, "bad", 5*time.Second), "index out of range")
	q.wantAnswer(t, q.push(t, "good", 5*time.Second), "good")

	eventually(t, 5*time.Second, "no dead letter", func() bool { return len(q.deadLetters(t)) > 0 })
	dead := q.deadLetters(t)
	if len(dead) != 1 || !strings.Contains(dead[0].Values["reason"].(string), "panicked") || dead[0].Values["job.body"] != "bad" {
		t.Fatalf("dead letters = %v, want the bad job with the panic as reason", dead)
	}
	if n := q.length(t, q.Stream); n != 0 {
		t.Errorf("%d jobs left in the stream", n)
	}
}

// On the panic path too, nothing is acknowledged unless the error answer
// and the dead letter are written.
func TestPanicNotAckedUntilWritten(t *testing.T) {
	for _, refused := range []string{"rpush", "xadd"} { // the answer, the dead letter
		t.Run("refused "+refused, func(t *testing.T) {
			q := newQueue(t)
			refuse := failCommands(refused)
			handled := count(func(ctx context.Context, msg Message) ([]byte, error) { panic("boom") })
			q.worker(t, "w1", handled.Handle, func(w *Worker) { w.Queue.rdb.AddHook(refuse) })
			q.push(t, "bad", 10*time.Second)
			eventually(t, 5*time.Second, "the job was never handled", func() bool { return handled.Calls("bad") > 0 })
			time.Sleep(200 * time.Millisecond) // let the worker finish its writes
			if n := q.pending(t); n != 1 {
				t.Errorf("%d jobs pending, want 1: acknowledged although a write was refused", n)
			}
			if n := len(q.deadLetters(t)); refused == "rpush" && n != 0 {
				t.Errorf("%d dead letters although the error answer could not be written", n)
			}
		})
	}
}

// A job that made its workers die (delivered MaxDeliveries times, never
// answered) is not handed to the handler again: it is answered with an
// error and parked with its delivery count.
func TestPoisonJobEndsInDeadLetters(t *testing.T) {
	q := newQueue(t)
	ticket := q.push(t, "poison", 10*time.Second)
	id := q.take(t, "crashed-1") // delivery 1
	for _, c := range []string{"crashed-2", "crashed-3"} {
		if err := q.rdb.XClaim(context.Background(), &redis.XClaimArgs{
			Stream: q.Stream, Group: q.group, Consumer: c, Messages: []string{id},
		}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	handled := count(echo)
	q.worker(t, "w1", handled.Handle, func(w *Worker) { w.ClaimIdle = 300 * time.Millisecond; w.MaxDeliveries = 3 })

	q.wantJobError(t, ticket, "delivered 3 times")
	if n := handled.Calls("poison"); n != 0 {
		t.Errorf("the handler got the poison job %d times, want 0", n)
	}
	// The answer is written first, then the dead letter.
	eventually(t, 5*time.Second, "no dead letter", func() bool { return len(q.deadLetters(t)) > 0 })
	dead := q.deadLetters(t)
	if len(dead) != 1 || dead[0].Values["deliveries"] != "4" || dead[0].Values["job"] != id {
		t.Fatalf("dead letters = %v, want job %s with deliveries 4", dead, id)
	}
}

// A job that cannot be read is parked, its client answered, and the
// worker goes on.
func TestMalformedJob(t *testing.T) {
	for name, values := range map[string][]any{
		"no body":       {"headers", "{}", "deadline", time.Now().Add(time.Minute).UnixMilli()},
		"bad headers":   {"body", "x", "headers", "[1,2]", "deadline", time.Now().Add(time.Minute).UnixMilli()},
		"no deadline":   {"body", "x", "headers", "{}"},
		"oversized":     {"body", strings.Repeat("x", MaxBody+1), "deadline", time.Now().Add(time.Minute).UnixMilli()},
		"many headers":  {"body", "x", "headers", manyHeaders(MaxHeaders + 1), "deadline", time.Now().Add(time.Minute).UnixMilli()},
		"deadline text": {"body", "x", "deadline", "tomorrow"},
	} {
		t.Run(name, func(t *testing.T) {
			q := newQueue(t)
			id, err := q.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: q.Stream, Values: values}).Result()
			if err != nil {
				t.Fatal(err)
			}
			handled := count(echo)
			q.worker(t, "w1", handled.Handle)
			q.wantJobError(t, Ticket{ID: id, Deadline: time.Now().Add(5 * time.Second)}, "malformed job")
			q.wantAnswer(t, q.push(t, "next", 5*time.Second), "next")
			eventually(t, 5*time.Second, "no dead letter", func() bool { return len(q.deadLetters(t)) > 0 })
			if dead := q.deadLetters(t); len(dead) != 1 || dead[0].Values["job"] != id {
				t.Errorf("dead letters = %d entries, want job %s", len(dead), id)
			}
			if handled.Calls("x") != 0 {
				t.Error("the handler got the malformed job")
			}
		})
	}
}

func manyHeaders(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"h%d":"v"`, i)
	}
	b.WriteString("}")
	return b.String()
}

// A job whose client has stopped waiting is dropped with a log line, not
// handled: after an outage, stale jobs do not delay new ones.
func TestStaleJobDropped(t *testing.T) {
	q := newQueue(t)
	id, err := q.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: q.Stream, Values: []any{
		"body", "stale", "headers", "{}", "deadline", time.Now().Add(-time.Minute).UnixMilli(),
	}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	handled := count(echo)
	logs := q.worker(t, "w1", handled.Handle)
	q.wantAnswer(t, q.push(t, "fresh", 5*time.Second), "fresh")
	eventually(t, 5*time.Second, "no log line for the stale job", func() bool {
		return strings.Contains(logs.String(), "dropped a job whose client stopped waiting") && strings.Contains(logs.String(), id)
	})
	if n := handled.Calls("stale"); n != 0 {
		t.Errorf("the stale job was handled %d times", n)
	}
	eventually(t, 5*time.Second, "the stale job is still in the stream", func() bool { return q.length(t, q.Stream) == 0 })
}

// The answer goes to a key made from the job's ID: a job cannot make the
// worker write to (or expire) any other key, the jobs stream included.
func TestAnswerKeyComesFromTheID(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	if err := q.rdb.Set(ctx, "precious", "data", 0).Err(); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{q.Stream, "precious"} {
		id, err := q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.Stream, Values: []any{
			"body", "x", "headers", "{}", "deadline", time.Now().Add(time.Minute).UnixMilli(),
			"reply_to", target, "answer_to", target,
		}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		q.worker(t, "w-"+target, echo)
		q.wantAnswer(t, Ticket{ID: id, Deadline: time.Now().Add(5 * time.Second)}, "x")
	}
	for _, key := range []string{q.Stream, "precious"} {
		if ttl := q.rdb.TTL(ctx, key).Val(); ttl != -1 {
			t.Errorf("TTL %s = %v, want none", key, ttl)
		}
	}
	if v := q.rdb.Get(ctx, "precious").Val(); v != "data" {
		t.Errorf("precious = %q", v)
	}
}

// A worker that dies with a job in hand: another worker takes it over
// while the client still waits, and the client gets its answer.
func TestTakeoverWithinTheClientsWait(t *testing.T) {
	q := newQueue(t)
	ticket := q.push(t, "orphan", 6*time.Second)
	q.take(t, "crashed") // taken, never answered: its worker died
	q.worker(t, "w1", echo, func(w *Worker) { w.ClaimIdle = 2 * time.Second })
	q.wantAnswer(t, ticket, "orphan") // WaitForAnswer gives up at the deadline
}

// A slow job is not taken over by another worker: the worker that has it
// touches it while it works.
func TestSlowJobNotTakenOver(t *testing.T) {
	q := newQueue(t)
	handled := count(func(ctx context.Context, msg Message) ([]byte, error) {
		time.Sleep(2 * time.Second) // four times ClaimIdle
		return msg.Body, nil
	})
	configure := func(w *Worker) { w.ClaimIdle = 500 * time.Millisecond; w.Jobs = 1 }
	q.worker(t, "w1", handled.Handle, configure)
	q.worker(t, "w2", handled.Handle, configure)
	q.wantAnswer(t, q.push(t, "slow", 10*time.Second), "slow")
	time.Sleep(time.Second) // a second handling would have started by now
	if n := handled.Calls("slow"); n != 1 {
		t.Errorf("the slow job was handled %d times, want 1", n)
	}
}

// A full queue refuses new jobs; it never drops the ones it holds.
func TestFullQueueRefusesNewJobs(t *testing.T) {
	q := newQueue(t)
	q.MaxLen = 2
	first := q.push(t, "1", 10*time.Second)
	q.push(t, "2", 10*time.Second)
	if _, err := q.Push(context.Background(), Message{Body: []byte("3")}, 10*time.Second); !errors.Is(err, ErrFull) {
		t.Fatalf("Push to a full queue: %v, want ErrFull", err)
	}
	if n := q.length(t, q.Stream); n != 2 {
		t.Errorf("the stream holds %d jobs, want the first 2", n)
	}
	q.worker(t, "w1", echo)
	q.wantAnswer(t, first, "1")
}

func TestPushLimits(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	many := map[string]string{}
	for i := range MaxHeaders + 1 {
		many[fmt.Sprint(i)] = "v"
	}
	for name, msg := range map[string]Message{
		"body":         {Body: make([]byte, MaxBody+1)},
		"headers":      {Headers: many},
		"header bytes": {Headers: map[string]string{"uberctx-x": strings.Repeat("x", MaxHeaderSize)}},
	} {
		if _, err := q.Push(ctx, msg, 10*time.Second); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: Push = %v, want ErrTooLarge", name, err)
		}
	}
	// Redis waits in whole seconds; 0 would mean forever.
	for _, wait := range []time.Duration{0, -time.Second, 999 * time.Millisecond} {
		if _, err := q.Push(ctx, Message{Body: []byte("x")}, wait); err == nil {
			t.Errorf("Push with wait %v succeeded", wait)
		}
	}
	if n := q.length(t, q.Stream); n != 0 {
		t.Errorf("%d refused jobs reached the stream", n)
	}
}

func TestNoAnswerByTheDeadline(t *testing.T) {
	q := newQueue(t)
	ticket := q.push(t, "nobody works", time.Second)
	if _, err := q.WaitForAnswer(context.Background(), ticket); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("WaitForAnswer = %v, want ErrNoAnswer", err)
	}
	if _, err := q.WaitForAnswer(context.Background(), Ticket{ID: "1-1", Deadline: time.Now().Add(-time.Second)}); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("WaitForAnswer past the deadline = %v, want ErrNoAnswer", err)
	}
}

// A job deleted from the stream while in a dead worker's hands is not
// lost silently: its client is told, and it is logged.
func TestDeletedJobIsReported(t *testing.T) {
	q := newQueue(t)
	ticket := q.push(t, "deleted", 10*time.Second)
	q.take(t, "crashed")
	if err := q.rdb.XDel(context.Background(), q.Stream, ticket.ID).Err(); err != nil {
		t.Fatal(err)
	}
	logs := q.worker(t, "w1", echo, func(w *Worker) { w.ClaimIdle = 300 * time.Millisecond })
	q.wantJobError(t, ticket, "lost")
	if !strings.Contains(logs.String(), "deleted from the stream") {
		t.Errorf("no log of the lost job:\n%s", logs)
	}
}

// Redis restarted empty has lost the group: the worker makes it again and
// goes on.
func TestRedisRestartedEmpty(t *testing.T) {
	q := newQueue(t)
	q.worker(t, "w1", echo)
	q.wantAnswer(t, q.push(t, "before", 5*time.Second), "before")
	q.server.Restart(t)
	eventually(t, 15*time.Second, "no answer after Redis came back", func() bool {
		ticket, err := q.Push(context.Background(), Message{Body: []byte("after")}, 2*time.Second)
		if err != nil {
			return false
		}
		body, err := q.WaitForAnswer(context.Background(), ticket)
		return err == nil && string(body) == "after"
	})
}

func TestHealthy(t *testing.T) {
	q := newQueue(t)
	own := New(q.server.Addr(), "test")
	defer own.Close()
	w := &Worker{Queue: own, Logger: discard(), Name: "w1"}
	if err := w.Healthy(); err == nil {
		t.Fatal("healthy before it ever reached Redis")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, echo) }()
	defer func() { cancel(); <-done }()

	eventually(t, 5*time.Second, "not healthy with Redis up", func() bool { return w.Healthy() == nil })
	q.server.Stop()
	eventually(t, 15*time.Second, "still healthy with Redis stopped", func() bool { return w.Healthy() != nil })
}

// A Redis that refuses reads does not make the worker spin: it pauses
// between tries.
func TestNoSpinWhenRedisRefuses(t *testing.T) {
	q := newQueue(t)
	refuse := failCommands()
	logs := q.worker(t, "w1", echo, func(w *Worker) { w.Jobs = 2; w.Queue.rdb.AddHook(refuse) })
	q.wantAnswer(t, q.push(t, "before", 5*time.Second), "before")
	// The script that reads jobs (XREADGROUP), for longer than a reader
	// waits for the bell (readBlock): each reader tries in that time.
	refuse.set("evalsha")
	time.Sleep(3 * time.Second)
	refuse.set()
	// Two readers pausing a second between tries fail about six times in
	// three seconds; a spinning one, thousands of times.
	if n := strings.Count(logs.String(), "reading jobs failed"); n == 0 || n > 15 {
		t.Errorf("%d failed reads logged in 3 s, want a few", n)
	}
	q.wantAnswer(t, q.push(t, "after", 5*time.Second), "after")
}

// FuzzDecode: whatever a stream entry holds, decode neither panics nor
// lets through a message over the limits, and what Push writes it reads
// back whole.
func FuzzDecode(f *testing.F) {
	f.Add("body", `{"uber-trace-id":"1:2:0:1"}`, "1796289334960", true)
	f.Add("", `[1,2]`, "tomorrow", false)
	f.Add("x", `{"a":1}`, "-1", true)
	f.Add("x", `null`, "99999999999999999999", true)
	f.Fuzz(func(t *testing.T, body, headers, deadline string, withBody bool) {
		values := map[string]any{"headers": headers, "deadline": deadline}
		if withBody {
			values["body"] = body
		}
		msg, _, err := decode(redis.XMessage{ID: "1-1", Values: values})
		if err == nil && checkLimits(msg) != nil {
			t.Fatalf("decode let through a message over the limits")
		}

		var h map[string]string
		if json.Unmarshal([]byte(headers), &h) != nil {
			return
		}
		written, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		in := Message{Headers: h, Body: []byte(body)}
		out, when, err := decode(redis.XMessage{ID: "1-1", Values: map[string]any{
			"body": body, "headers": string(written), "deadline": "1796289334960",
		}})
		if checkLimits(in) != nil {
			return
		}
		if err != nil || string(out.Body) != body || !maps.Equal(out.Headers, h) || when.UnixMilli() != 1796289334960 {
			t.Fatalf("decode(Push's fields) = %q %v %v, %v; want %q %v", out.Body, out.Headers, when, err, body, h)
		}
	})
}

// At most MaxWaiting clients wait at once: one more is refused with
// ErrBusy, and its job is not queued (issue 20, finding 2: a pool of
// connections exhausted answered as if Redis were down, after queueing
// the job). A client that is done waiting makes room.
func TestTooManyWaiting(t *testing.T) {
	q := newQueue(t)
	q.MaxWaiting = 2
	first := q.push(t, "1", time.Second)
	q.push(t, "2", 10*time.Second)
	if _, err := q.Push(context.Background(), Message{Body: []byte("3")}, 10*time.Second); !errors.Is(err, ErrBusy) {
		t.Fatalf("Push with %d clients waiting: %v, want ErrBusy", q.MaxWaiting, err)
	}
	if n := q.length(t, q.Stream); n != 2 {
		t.Errorf("the stream holds %d jobs, want 2: the refused one was queued", n)
	}
	if _, err := q.WaitForAnswer(context.Background(), first); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("WaitForAnswer = %v, want ErrNoAnswer", err)
	}
	q.push(t, "4", 10*time.Second) // the first one's place
}

// With as many clients waiting as the pool has connections for, Redis
// still answers every one of them: no pool timeout poses as Redis down.
func TestWaitingClientsDoNotExhaustThePool(t *testing.T) {
	q := newQueue(t)
	var wg sync.WaitGroup
	errs := make(chan error, q.MaxWaiting+16)
	for range q.MaxWaiting + 16 {
		wg.Go(func() {
			ticket, err := q.Push(context.Background(), Message{Body: []byte("x")}, 2*time.Second)
			if err == nil {
				_, err = q.WaitForAnswer(context.Background(), ticket)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	busy := 0
	for err := range errs {
		switch {
		case errors.Is(err, ErrBusy):
			busy++
		case !errors.Is(err, ErrNoAnswer):
			t.Errorf("a client got %v, want ErrNoAnswer (nobody works) or ErrBusy", err)
		}
	}
	if busy == 0 {
		t.Errorf("all %d clients waited at once, want at most %d", q.MaxWaiting+16, q.MaxWaiting)
	}
}

// A client whose wait ends before its job's deadline without an answer
// (it gave up, Redis failed) withdraws its job if no worker has it: no
// worker does a job nobody waits for, nor leaves its answer behind. One
// in a worker's hands is done all the same; its answer expires.
func TestUnansweredJobIsWithdrawn(t *testing.T) {
	q := newQueue(t)
	gaveUp, cancel := context.WithCancel(context.Background())
	cancel()
	ticket := q.push(t, "given up", 10*time.Second)
	if _, err := q.WaitForAnswer(gaveUp, ticket); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitForAnswer = %v, want context.Canceled", err)
	}
	if n := q.length(t, q.Stream); n != 0 {
		t.Errorf("the stream holds %d jobs after their client gave up, want 0", n)
	}
	taken := q.push(t, "taken", 10*time.Second)
	q.take(t, "w1")
	if _, err := q.WaitForAnswer(gaveUp, taken); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitForAnswer = %v, want context.Canceled", err)
	}
	if n := q.pending(t); n != 1 {
		t.Errorf("%d jobs pending, want the one in a worker's hands", n)
	}
}
