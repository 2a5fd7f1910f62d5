package jobqueue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// With Redis hung (SIGSTOP: connections open, no answers) at the moment
// of the XADD, a push fails within the client's read timeout, and is not
// sent twice: once Redis answers again, the stream holds the job once at
// most.
func TestHungRedisPushBoundedAndSentOnce(t *testing.T) {
	q := newQueue(t)
	// Connections that Redis accepted before it hung, in the pool: a second
	// send of the XADD would go over one of them, and land.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { q.Queue.rdb.Do(context.Background(), "debug", "sleep", "0.1") })
	}
	wg.Wait()
	var once sync.Once
	q.Queue.rdb.AddHook(before{"xadd", func() { once.Do(func() { q.server.Pause(t) }) }})
	e2e.Within(t, 10*time.Second, "Push to a hung Redis", func() {
		if _, err := q.Push(context.Background(), Message{Body: []byte("x")}, 5*time.Second); err == nil {
			t.Error("Push to a hung Redis succeeded")
		}
	})
	q.server.Resume(t)
	// The XADD reached Redis before it hung: Redis runs it once it goes on.
	eventually(t, 5*time.Second, "the job never reached the stream", func() bool { return q.length(t, q.Stream) > 0 })
	time.Sleep(500 * time.Millisecond) // a second copy, if sent, lands by now
	if n := q.length(t, q.Stream); n != 1 {
		t.Errorf("the stream holds %d copies of one push, want 1", n)
	}
}

// before is a go-redis hook that calls f before each command named name.
type before struct {
	name string
	f    func()
}

func (b before) DialHook(next redis.DialHook) redis.DialHook { return next }

func (b before) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == b.name {
			b.f()
		}
		return next(ctx, cmd)
	}
}

func (b before) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A client that gives up (its request ended: a cancel, not a deadline)
// stops waiting within a second or two, and frees its connection, even
// while Redis hangs. go-redis does not stop a blocking command on a cancel
// alone: the queue waits a second at a time.
func TestWaitEndsWithTheCaller(t *testing.T) {
	for _, hung := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis hung %v", hung), func(t *testing.T) {
			q := newQueue(t)
			ticket := q.push(t, "x", 30*time.Second)
			if hung {
				q.server.Pause(t)
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(500*time.Millisecond, cancel)
			e2e.Within(t, 3*time.Second, "WaitForAnswer after its caller gave up", func() {
				if _, err := q.WaitForAnswer(ctx, ticket); err == nil {
					t.Error("WaitForAnswer succeeded")
				}
			})
		})
	}
}

// A worker started while Redis hangs neither blocks its start forever nor
// its stop: Run returns soon after its context ends.
func TestWorkerStopsWhileRedisHangs(t *testing.T) {
	for _, when := range []string{"before start", "while running"} {
		t.Run(when, func(t *testing.T) {
			q := newQueue(t)
			own := New(q.server.Addr(), "test")
			defer own.Close()
			w := &Worker{Queue: own, Logger: discard(), Name: "w1"}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			if when == "before start" {
				q.server.Pause(t)
			}
			go func() { defer close(done); w.Run(ctx, echo) }()
			if when == "while running" {
				eventually(t, 5*time.Second, "never healthy", func() bool { return w.Healthy() == nil })
				q.server.Pause(t)
			}
			time.Sleep(500 * time.Millisecond)
			cancel()
			e2e.Within(t, 5*time.Second, "Worker.Run after its context ended", func() { <-done })
		})
	}
}
