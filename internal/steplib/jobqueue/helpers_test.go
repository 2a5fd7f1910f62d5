package jobqueue

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// testQueue is a queue on a redis-server of the test's own, and a plain
// client to look inside Redis with.
type testQueue struct {
	*Queue
	server *e2e.RedisServer
	rdb    *redis.Client
}

func newQueue(t *testing.T) *testQueue {
	t.Helper()
	server := e2e.Redis(t)
	q := New(server.Addr(), "test")
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr()})
	t.Cleanup(func() { q.Close(); rdb.Close() })
	return &testQueue{Queue: q, server: server, rdb: rdb}
}

// worker runs a Worker named name on a queue of its own (its own Redis
// connections) until the test ends, and returns its log.
func (q *testQueue) worker(t *testing.T, name string, handle Handler, configure ...func(*Worker)) *proc.Buffer {
	t.Helper()
	own := New(q.server.Addr(), "test")
	return e2e.Background(t, "worker "+name, func(ctx context.Context, logger *slog.Logger) {
		w := &Worker{Queue: own, Logger: logger, Name: name, Jobs: 2, ClaimIdle: time.Second}
		for _, c := range configure {
			c(w)
		}
		w.Run(ctx, handle)
	}, func() { own.Close() })
}

// echo answers a job with its own body.
func echo(ctx context.Context, msg Message) ([]byte, error) { return msg.Body, nil }

// counting wraps handle and counts its calls per body.
type counting struct {
	mu     sync.Mutex
	calls  map[string]int
	handle Handler
}

func count(handle Handler) *counting { return &counting{calls: map[string]int{}, handle: handle} }

func (c *counting) Handle(ctx context.Context, msg Message) ([]byte, error) {
	c.mu.Lock()
	c.calls[string(msg.Body)]++
	c.mu.Unlock()
	return c.handle(ctx, msg)
}

func (c *counting) Calls(body string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[body]
}

func (q *testQueue) push(t *testing.T, body string, wait time.Duration) Ticket {
	t.Helper()
	ticket, err := q.Push(context.Background(), Message{Body: []byte(body)}, wait)
	if err != nil {
		t.Fatalf("Push(%q): %v", body, err)
	}
	return ticket
}

// wantAnswer waits for ticket's answer and checks it is want.
func (q *testQueue) wantAnswer(t *testing.T, ticket Ticket, want string) {
	t.Helper()
	body, err := q.WaitForAnswer(context.Background(), ticket)
	if err != nil || string(body) != want {
		t.Fatalf("WaitForAnswer = %q, %v; want %q", body, err, want)
	}
}

// wantJobError waits for ticket's answer and checks it is an error that
// says want.
func (q *testQueue) wantJobError(t *testing.T, ticket Ticket, want string) {
	t.Helper()
	body, err := q.WaitForAnswer(context.Background(), ticket)
	var jobErr *JobError
	if !errors.As(err, &jobErr) || !strings.Contains(jobErr.Reason, want) {
		t.Fatalf("WaitForAnswer = %q, %v; want a JobError saying %q", body, err, want)
	}
}

// pending is how many jobs were delivered and not acknowledged.
func (q *testQueue) pending(t *testing.T) int64 {
	t.Helper()
	p, err := q.rdb.XPending(context.Background(), q.Stream, q.group).Result()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	return p.Count
}

// length is how many entries the stream holds.
func (q *testQueue) length(t *testing.T, stream string) int64 {
	t.Helper()
	n, err := q.rdb.XLen(context.Background(), stream).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("XLEN %s: %v", stream, err)
	}
	return n
}

// deadLetters returns the dead-letter stream's entries.
func (q *testQueue) deadLetters(t *testing.T) []redis.XMessage {
	t.Helper()
	entries, err := q.rdb.XRange(context.Background(), q.DeadLetters, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", q.DeadLetters, err)
	}
	return entries
}

// take reads one new job as consumer, as a worker that then crashes would.
func (q *testQueue) take(t *testing.T, consumer string) string {
	t.Helper()
	ctx := context.Background()
	if err := q.rdb.XGroupCreateMkStream(ctx, q.Stream, q.group, "0").Err(); err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		t.Fatal(err)
	}
	streams, err := q.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: q.group, Consumer: consumer, Streams: []string{q.Stream, ">"}, Count: 1, Block: -1,
	}).Result()
	if err != nil || len(streams) == 0 || len(streams[0].Messages) == 0 {
		t.Fatalf("XREADGROUP as %s: %v %v", consumer, streams, err)
	}
	return streams[0].Messages[0].ID
}

// eventually polls cond every 50 ms until it holds, or fails the test
// after timeout (a bound on a wait, not a speed requirement).
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failing is a go-redis hook that makes the commands named fail, as a
// Redis that refuses writes (out of memory, read-only replica) would.
type failing struct {
	mu       sync.Mutex
	commands map[string]bool
}

func failCommands(names ...string) *failing {
	f := &failing{commands: map[string]bool{}}
	for _, n := range names {
		f.commands[n] = true
	}
	return f
}

func (f *failing) set(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = map[string]bool{}
	for _, n := range names {
		f.commands[n] = true
	}
}

func (f *failing) fails(cmds ...redis.Cmder) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cmds {
		if f.commands[c.Name()] {
			return true
		}
	}
	return false
}

var errRefused = errors.New("OOM command not allowed (test)")

func (f *failing) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failing) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.fails(cmd) {
			cmd.SetErr(errRefused)
			return errRefused
		}
		return next(ctx, cmd)
	}
}

func (f *failing) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if f.fails(cmds...) {
			for _, c := range cmds {
				c.SetErr(errRefused)
			}
			return errRefused
		}
		return next(ctx, cmds)
	}
}
