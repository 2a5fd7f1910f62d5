package jobqueue

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A stream entry far over the limits (somebody's XADD: Push refuses such
// jobs) is never read into a worker's memory, whether it is new or taken
// over from a worker that died: the worker gets its size and the first
// bytes of its values, answers its client, and parks it in a dead letter
// that keeps only those first bytes (issue 20, finding 4: one 100 MB entry
// took the cleaner from 16 to 211 MB, and the dead letter copied it).
//
// The bound checked is the worker's allocations while it deals with the
// entry: under half the entry's size (it takes more than the entry's size
// to read it).
func TestHugeEntryNeverRead(t *testing.T) {
	const size = 16 << 20 // twice maxEntry
	for _, path := range []string{"new", "taken over"} {
		t.Run(path, func(t *testing.T) {
			q := newQueue(t)
			ctx := context.Background()
			deadline := time.Now().Add(time.Minute).UnixMilli()
			// The entry goes in and is taken by scripts: not through this
			// process' memory, which the test measures. Redis takes a while
			// to copy it: a client that waits long enough.
			rdb := redis.NewClient(&redis.Options{Addr: q.server.Addr(), ReadTimeout: time.Minute})
			defer rdb.Close()
			if err := rdb.SetRange(ctx, "huge", size-1, "x").Err(); err != nil {
				t.Fatal(err)
			}
			id, err := rdb.Eval(ctx, `return redis.call('XADD', KEYS[1], '*', 'body', redis.call('GET', KEYS[2]), 'headers', '{}', 'deadline', ARGV[1])`,
				[]string{q.Stream, "huge"}, deadline).Text()
			if err != nil {
				t.Fatal(err)
			}
			if path == "taken over" {
				q.rdb.XGroupCreateMkStream(ctx, q.Stream, q.group, "0")
				if err := rdb.Eval(ctx, `redis.call('XREADGROUP', 'GROUP', ARGV[1], 'crashed', 'COUNT', 1, 'STREAMS', KEYS[1], '>') return 1`,
					[]string{q.Stream}, q.group).Err(); err != nil {
					t.Fatal(err)
				}
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			handled := count(echo)
			q.worker(t, "w1", handled.Handle, func(w *Worker) { w.ClaimIdle = 300 * time.Millisecond })
			q.wantJobError(t, Ticket{ID: id, Deadline: time.Now().Add(5 * time.Second)}, "too large")
			eventually(t, 5*time.Second, "no dead letter", func() bool { return q.length(t, q.DeadLetters) > 0 })
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > size/2 {
				t.Errorf("the worker allocated %d MiB for an entry of %d MiB: it read it", grew>>20, size>>20)
			}
			dead := q.deadLetters(t)
			if len(dead) != 1 || dead[0].Values["job"] != id {
				t.Fatalf("dead letters = %d, want job %s", len(dead), id)
			}
			for key, value := range dead[0].Values {
				if n := len(fmt.Sprint(value)); n > deadLetterValue {
					t.Errorf("the dead letter's %s holds %d bytes, want at most %d", key, n, deadLetterValue)
				}
			}
			reason := fmt.Sprint(dead[0].Values["reason"])
			var n int
			if i := strings.Index(reason, "an entry of "); i >= 0 {
				fmt.Sscanf(reason[i:], "an entry of %d bytes", &n)
			}
			if n < size {
				t.Errorf("reason %q does not say the entry's size", reason)
			}
			if handled.Calls(strings.Repeat("x", deadLetterValue)) != 0 {
				t.Error("the handler got the oversized job")
			}
			q.wantAnswer(t, q.push(t, "next", 5*time.Second), "next")
		})
	}
}
