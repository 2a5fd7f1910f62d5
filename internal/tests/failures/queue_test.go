package failures

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

// addJob puts a job on the queue as it is, not as the gateway would.
func addJob(t *testing.T, rdb *redis.Client, values map[string]any) string {
	t.Helper()
	id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: jobsStream, Values: values}).Result()
	if err != nil {
		t.Fatalf("XADD: %v", err)
	}
	return id
}

// inFuture is a job deadline (Unix ms) a minute from now.
func inFuture() string { return fmt.Sprint(time.Now().Add(time.Minute).UnixMilli()) }

// wantDeadLetters checks that the queue is done with, and that the jobs
// ids, and no others, are dead letters with a reason that says says, each
// answered with an error for a client that might wait for it.
func wantDeadLetters(t *testing.T, rdb *redis.Client, ids []string, says string) {
	t.Helper()
	reasons := map[string]string{}
	for _, m := range queueDone(t, rdb) {
		reasons[fmt.Sprint(m.Values["job"])] = fmt.Sprint(m.Values["reason"])
	}
	if len(reasons) != len(ids) {
		t.Errorf("%d dead letters %v, want %d", len(reasons), reasons, len(ids))
	}
	for _, id := range ids {
		if reason, ok := reasons[id]; !ok || !strings.Contains(reason, says) {
			t.Errorf("job %s: dead letter %t, reason %q; want one that says %q", id, ok, reason, says)
		}
		wantAnswer(t, rdb, id, "the job failed")
	}
}

// wantAnswer checks that the job id was answered with an error that says
// says.
func wantAnswer(t *testing.T, rdb *redis.Client, id, says string) {
	t.Helper()
	answer, err := rdb.LIndex(context.Background(), answers+id, 0).Result()
	if err != nil || !strings.Contains(answer, says) {
		t.Errorf("job %s: answer %q (%v), want an error that says %q", id, answer, err, says)
	}
}

// TestQueueMalformedMessage: jobs that cannot be read (no body, headers
// that are not JSON, no deadline, a body that is not JSON) go to the
// dead-letter stream with the reason, each logged and answered with an
// error, and the cleaner keeps serving. The job whose body the cleaner
// cannot read has its cleanJob span, in the trace its headers name, with
// error=true saying why.
func TestQueueMalformedMessage(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{})
	rdb := redisOf(t, s)
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	headers, _ := json.Marshal(map[string]string{"uber-trace-id": traceID + ":00f067aa0ba902b7:0:1"})
	ids := []string{
		addJob(t, rdb, map[string]any{"junk": "x"}),
		addJob(t, rdb, map[string]any{"body": "{}", "headers": "not JSON", "deadline": inFuture()}),
		addJob(t, rdb, map[string]any{"body": "{}", "headers": "{}", "deadline": "soon"}),
		addJob(t, rdb, map[string]any{"body": "not JSON", "headers": headers, "deadline": inFuture()}),
	}

	wantDeadLetters(t, rdb, ids, "malformed job")
	wantAnswer(t, rdb, ids[3], "its body is not JSON")
	marked(t, s.Jaeger, traceID, "cleaner", "cleanJob", "its body is not JSON")
	cleaner := s.Programs["cleaner"].Output()
	for _, id := range ids {
		if !strings.Contains(cleaner, "job moved to the dead-letter stream") || !strings.Contains(cleaner, id) {
			t.Errorf("the cleaner did not log the malformed job %s:\n%s", id, cleaner)
		}
	}
	alive(t, s)
	wantOK(t, s, "golang/go")
}

// TestQueueOversizedMessage: a job over the queue's limits (a body over 8
// MiB, more than 32 headers) goes to the dead-letter stream, and the
// cleaner keeps serving.
func TestQueueOversizedMessage(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{})
	rdb := redisOf(t, s)
	many := map[string]string{}
	for i := range jobqueue.MaxHeaders + 1 {
		many[fmt.Sprint("h", i)] = "v"
	}
	headers, _ := json.Marshal(many)
	ids := []string{
		addJob(t, rdb, map[string]any{"body": strings.Repeat("x", jobqueue.MaxBody+1), "headers": "{}", "deadline": inFuture()}),
		addJob(t, rdb, map[string]any{"body": "{}", "headers": headers, "deadline": inFuture()}),
	}
	wantDeadLetters(t, rdb, ids, "too large")
	alive(t, s)
	wantOK(t, s, "golang/go")
}

// TestTooManyWaiting: with the cleaner stopped, more requests than the
// gateway lets wait at once (jobqueue's MaxWaiting, 256) are sent
// together. Each waits for the cleaner and gets 504, or is turned away at
// once with 503 "too many requests are waiting for the cleaner" and
// Retry-After; none is told that Redis is unavailable (Redis is fine),
// the jobs of those turned away were never queued (a cleaner started
// again drops the others, their clients gone).
func TestTooManyWaiting(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{Env: map[string]string{"REPLY_TIMEOUT": "10s"}})
	if err := s.Programs["cleaner"].Stop(); err != nil {
		t.Fatal(err)
	}
	rdb := redisOf(t, s)
	before := xadds(t, rdb)
	const requests = jobqueue.DefaultMaxWaiting + 44
	got := make([]answer, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			a, err := tryCall(s.URL+fmt.Sprintf("/git/load/repo%d", i), nil)
			if err != nil {
				t.Error(err)
			}
			got[i] = a
		})
	}
	wg.Wait()
	waited, busy := 0, 0
	for _, a := range got {
		switch {
		case a.status == http.StatusGatewayTimeout && strings.Contains(a.error, "cleaner did not answer"):
			waited++
		case a.status == http.StatusServiceUnavailable && strings.Contains(a.error, "too many requests are waiting"):
			busy++
			if a.header.Get("Retry-After") == "" {
				t.Errorf("a 503 %q without Retry-After", a.error)
			}
		default:
			t.Errorf("answer %d %q, want 504 from the cleaner or 503 'too many requests are waiting'", a.status, a.error)
		}
	}
	if waited > jobqueue.DefaultMaxWaiting || busy == 0 {
		t.Errorf("%d requests waited for the cleaner and %d were turned away; want at most %d waiting", waited, busy, jobqueue.DefaultMaxWaiting)
	}
	if queued := xadds(t, rdb) - before; queued != int64(waited) {
		t.Errorf("%d jobs queued for %d requests that waited: the jobs of requests turned away were queued", queued, waited)
	}
	s.Programs["cleaner"].Restart(t) // drops the jobs nobody waits for any more
	noDeadLetters(t, rdb)
	alive(t, s)
}

// xadds is how many XADDs Redis has run: how many jobs were queued.
func xadds(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	stats, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if i := strings.Index(stats, "cmdstat_xadd:calls="); i >= 0 {
		fmt.Sscanf(stats[i:], "cmdstat_xadd:calls=%d", &n)
	}
	return n
}

// TestQueueHugeEntry: an entry far over a job's limits (16 MiB, put on the
// stream by hand) is not read whole by the cleaner: Redis hands it over as
// its size and its first bytes, and it goes to the dead-letter stream with
// only the first KiB of each value, so that the dead letters (1,000 at
// most) stay small too. The cleaner keeps serving.
func TestQueueHugeEntry(t *testing.T) {
	t.Parallel()
	s := start(t, 7, stepsuite.Options{})
	ctx := context.Background()
	// Made in Redis, not sent: Redis takes a while to copy it.
	rdb := redis.NewClient(&redis.Options{Addr: s.Redis.Addr(), ReadTimeout: time.Minute})
	t.Cleanup(func() { rdb.Close() })
	const size = 16 << 20
	if err := rdb.SetRange(ctx, "huge", size-1, "x").Err(); err != nil {
		t.Fatal(err)
	}
	id, err := rdb.Eval(ctx, `return redis.call('XADD', KEYS[1], '*', 'body', redis.call('GET', KEYS[2]), 'headers', '{}', 'deadline', ARGV[1])`,
		[]string{jobsStream, "huge"}, inFuture()).Text()
	if err != nil {
		t.Fatal(err)
	}
	wantDeadLetters(t, rdb, []string{id}, "too large")
	dead, err := rdb.XRange(ctx, deadLetters, "-", "+").Result()
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %d, %v", len(dead), err)
	}
	for key, value := range dead[0].Values {
		if n := len(fmt.Sprint(value)); n > 1<<10 {
			t.Errorf("the dead letter's %s holds %d bytes, want its first KiB", key, n)
		}
	}
	alive(t, s)
	wantOK(t, s, "golang/go")
}
