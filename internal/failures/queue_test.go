package failures

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tracing-tutorial/tutorial/internal/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
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
	s := start(t, 7, lesson.Options{})
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
	s := start(t, 7, lesson.Options{})
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
