package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/proc"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// newRedis starts a Redis of the test's own and returns it with a client.
func newRedis(t *testing.T) (*e2e.RedisServer, *redis.Client) {
	t.Helper()
	server := e2e.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return server, rdb
}

// startConsumer runs a Consumer named name on its own Redis client until
// the test ends, and returns its log.
func startConsumer(t *testing.T, addr, name string, claimIdle time.Duration, handle Handler) *proc.Buffer {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	return e2e.Background(t, "consumer "+name, func(ctx context.Context, logger *slog.Logger) {
		consumer := &Consumer{Redis: rdb, Logger: logger, Name: name, Workers: 2, ClaimIdle: claimIdle}
		consumer.Run(ctx, handle)
	}, func() { rdb.Close() }) // ends the blocking reads at once
}

// echo is a trivial cleaner: the statistics of the test's jobs are already
// the contributors.
func echo(ctx context.Context, job Job) Reply {
	var contributors []Contributor
	if err := json.Unmarshal(job.Stats, &contributors); err != nil {
		return Reply{Error: err.Error()}
	}
	return Reply{Contributors: contributors}
}

// newJob is a job for repo whose answer is login with commits.
func newJob(t *testing.T, repo, login string, commits int) Job {
	t.Helper()
	stats, err := json.Marshal([]Contributor{{Login: login, Commits: commits}})
	if err != nil {
		t.Fatal(err)
	}
	return Job{ReplyTo: NewReplyKey(), Repo: repo, Stats: stats}
}

func push(t *testing.T, rdb *redis.Client, job Job) {
	t.Helper()
	if err := Push(context.Background(), rdb, job); err != nil {
		t.Fatalf("Push: %v", err)
	}
}

// wantReply waits for job's reply and checks it is the echo of job.
func wantReply(t *testing.T, rdb *redis.Client, job Job, timeout time.Duration) {
	t.Helper()
	reply, err := WaitForReply(context.Background(), rdb, job.ReplyTo, timeout)
	if err != nil {
		t.Fatalf("WaitForReply(%s): %v", job.Repo, err)
	}
	if want := echo(context.Background(), job); reply.Error != "" || fmt.Sprint(reply) != fmt.Sprint(want) {
		t.Errorf("reply = %+v, want %+v", reply, want)
	}
}

// pending returns how many jobs were delivered and not acknowledged.
func pending(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	summary, err := rdb.XPending(context.Background(), JobsStream, Group).Result()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	return summary.Count
}

// eventually polls cond every 20 ms for up to timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, what)
		}
	}
}

// takeWithoutAck reads one job as consumer, as a cleaner does, and then
// "crashes": the job stays pending at consumer.
func takeWithoutAck(t *testing.T, rdb *redis.Client, consumer string) string {
	t.Helper()
	ctx := context.Background()
	if err := rdb.XGroupCreateMkStream(ctx, JobsStream, Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	streams, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: Group, Consumer: consumer, Streams: []string{JobsStream, ">"}, Count: 1, Block: -1,
	}).Result()
	if err != nil || len(streams) != 1 || len(streams[0].Messages) != 1 {
		t.Fatalf("XREADGROUP as %s: %v %v", consumer, streams, err)
	}
	if n := pending(t, rdb); n != 1 {
		t.Fatalf("%d jobs pending, want 1", n)
	}
	return streams[0].Messages[0].ID
}

// TestRepliesGoToTheirOwnRequest: the talk's demo waited on a list named
// after the repository, so two requests for one repository could take each
// other's answers. Both jobs are queued before either waits, and the second
// waits first: a shared key would hand it the first job's answer.
func TestRepliesGoToTheirOwnRequest(t *testing.T) {
	t.Parallel()
	server, rdb := newRedis(t)
	first := newJob(t, "golang/go", "first", 1)
	second := newJob(t, "golang/go", "second", 2)
	if first.ReplyTo == second.ReplyTo {
		t.Fatalf("two requests share the reply key %s", first.ReplyTo)
	}
	push(t, rdb, first)
	push(t, rdb, second)
	startConsumer(t, server.Addr(), "c", time.Minute, echo)

	wantReply(t, rdb, second, 5*time.Second)
	wantReply(t, rdb, first, 5*time.Second)
	eventually(t, 5*time.Second, "both jobs acknowledged", func() bool { return pending(t, rdb) == 0 })
}

// TestWaitForReplyTimesOut: nobody answers, and the wait ends on time.
func TestWaitForReplyTimesOut(t *testing.T) {
	t.Parallel()
	_, rdb := newRedis(t)
	start := time.Now()
	_, err := WaitForReply(context.Background(), rdb, NewReplyKey(), time.Second)
	took := time.Since(start)
	if !errors.Is(err, ErrNoReply) {
		t.Errorf("WaitForReply = %v, want ErrNoReply", err)
	}
	if took < time.Second || took > 2*time.Second {
		t.Errorf("WaitForReply with a 1 s timeout took %s", took)
	}
}

// TestRepliesExpire: a reply that nobody reads (the gateway gave up) does
// not stay in Redis forever.
func TestRepliesExpire(t *testing.T) {
	t.Parallel()
	server, rdb := newRedis(t)
	startConsumer(t, server.Addr(), "c", time.Minute, echo)
	job := newJob(t, "golang/go", "gopher", 3)
	push(t, rdb, job)

	ctx := context.Background()
	eventually(t, 5*time.Second, "the cleaner replied", func() bool {
		return rdb.Exists(ctx, job.ReplyTo).Val() == 1
	})
	ttl, err := rdb.TTL(ctx, job.ReplyTo).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL of the unread reply = %v (%v), want an expiry of at most a minute", ttl, err)
	}
	// Once read, the key is gone.
	wantReply(t, rdb, job, time.Second)
	if n := rdb.Exists(ctx, job.ReplyTo).Val(); n != 0 {
		t.Errorf("the reply key still exists after the reply was read")
	}
}

// TestMalformedJobsAreDeadLettered: a job that cannot be read is parked
// with the reason, acknowledged, and the consumer goes on.
func TestMalformedJobsAreDeadLettered(t *testing.T) {
	t.Parallel()
	server, rdb := newRedis(t)
	startConsumer(t, server.Addr(), "c", time.Minute, echo)
	ctx := context.Background()

	bad := []struct {
		values map[string]any
		reason string
	}{
		{map[string]any{"job": "not json"}, "not JSON"},
		{map[string]any{"something": "else"}, `no "job" field`},
		{map[string]any{"job": `{"repo":"a/b"}`}, "lacks reply_to"},
	}
	ids := map[string]int{}
	for i, b := range bad {
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: JobsStream, Values: b.values}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = i
	}
	good := newJob(t, "golang/go", "gopher", 4)
	push(t, rdb, good)
	wantReply(t, rdb, good, 5*time.Second)

	var parked []redis.XMessage
	eventually(t, 5*time.Second, "three jobs dead-lettered", func() bool {
		parked = rdb.XRange(ctx, DeadLetterStream, "-", "+").Val()
		return len(parked) >= len(bad)
	})
	if len(parked) != len(bad) {
		t.Fatalf("%d jobs dead-lettered, want %d: %v", len(parked), len(bad), parked)
	}
	for _, message := range parked {
		id, _ := message.Values["id"].(string)
		i, ok := ids[id]
		if !ok {
			t.Errorf("dead letter %v names no job that was added", message.Values)
			continue
		}
		reason, _ := message.Values["reason"].(string)
		if !strings.Contains(reason, bad[i].reason) {
			t.Errorf("job %v: reason %q, want it to mention %q", bad[i].values, reason, bad[i].reason)
		}
		for key, value := range bad[i].values {
			if message.Values["job."+key] != value {
				t.Errorf("dead letter %v lacks the job's field %s=%v", message.Values, key, value)
			}
		}
	}
	eventually(t, 5*time.Second, "every job acknowledged", func() bool { return pending(t, rdb) == 0 })
}

// TestHandlerPanic: a job the cleaning code panics on is dead-lettered, its
// request gets an error reply at once, and the consumer goes on.
func TestHandlerPanic(t *testing.T) {
	t.Parallel()
	server, rdb := newRedis(t)
	startConsumer(t, server.Addr(), "c", time.Minute, func(ctx context.Context, job Job) Reply {
		if job.Repo == "panic/now" {
			panic("index out of range")
		}
		return echo(ctx, job)
	})
	ctx := context.Background()

	doomed := newJob(t, "panic/now", "nobody", 1)
	push(t, rdb, doomed)
	reply, err := WaitForReply(ctx, rdb, doomed.ReplyTo, 5*time.Second)
	if err != nil || reply.Error == "" || reply.Contributors != nil {
		t.Errorf("reply to the job that panicked = %+v, %v; want an error reply", reply, err)
	}
	parked := rdb.XRange(ctx, DeadLetterStream, "-", "+").Val()
	if len(parked) != 1 || !strings.Contains(fmt.Sprint(parked[0].Values["reason"]), "index out of range") {
		t.Errorf("dead letters = %v, want the job with the panic as reason", parked)
	}

	good := newJob(t, "golang/go", "gopher", 5)
	push(t, rdb, good)
	wantReply(t, rdb, good, 5*time.Second)
	eventually(t, 5*time.Second, "both jobs acknowledged", func() bool { return pending(t, rdb) == 0 })
}

// TestPendingJobsAreFinished: a job that a cleaner took and did not
// acknowledge (it died) is finished all the same.
//   - own job after a restart: the cleaner ("a") finishes it when it starts
//     again under the same name. ClaimIdle is long: no claiming helps here.
//   - abandoned job: the cleaner ("b") never comes back, and another ("c")
//     takes the job over once it has been idle for ClaimIdle, and not before.
func TestPendingJobsAreFinished(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		taker, consumer string
		claimIdle       time.Duration
		logged          string
	}{
		{"own job after a restart", "a", "a", time.Hour, "finishing a job taken before a restart"},
		{"abandoned job", "b", "c", 300 * time.Millisecond, "took over an abandoned job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			server, rdb := newRedis(t)
			job := newJob(t, "torvalds/linux", "linus", 6)
			push(t, rdb, job)
			takeWithoutAck(t, rdb, tc.taker)
			taken := time.Now()

			logs := startConsumer(t, server.Addr(), tc.consumer, tc.claimIdle, echo)
			wantReply(t, rdb, job, 5*time.Second)
			if waited := time.Since(taken); tc.consumer != tc.taker && waited < tc.claimIdle {
				t.Errorf("the job was taken over after %s, before it was idle for %s", waited, tc.claimIdle)
			}
			eventually(t, 5*time.Second, "the job acknowledged", func() bool { return pending(t, rdb) == 0 })
			if !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("the consumer did not log %q:\n%s", tc.logged, logs)
			}
		})
	}
}

// TestConsumerSurvivesRedisRestart: Redis restarts empty, without the
// consumer group; the consumer makes it again and serves new jobs.
func TestConsumerSurvivesRedisRestart(t *testing.T) {
	t.Parallel()
	server, rdb := newRedis(t)
	logs := startConsumer(t, server.Addr(), "c", time.Minute, echo)
	before := newJob(t, "golang/go", "before", 8)
	push(t, rdb, before)
	wantReply(t, rdb, before, 5*time.Second)

	server.Restart(t)
	after := newJob(t, "golang/go", "after", 9)
	push(t, rdb, after)
	wantReply(t, rdb, after, 10*time.Second)
	if !strings.Contains(logs.String(), "NOGROUP") {
		t.Errorf("the consumer did not log the lost group:\n%s", logs)
	}
}
