package jobqueue

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// claims is a go-redis hook on XCLAIM: a worker's touches of the jobs in
// its hands (XCLAIM … JUSTID) are dropped when lost is set, as when the
// worker is frozen (SIGSTOP) and cannot touch them; and takeover, if set,
// runs before each takeover (claimScript's XCLAIM).
type claims struct {
	lost     bool
	takeover func(id string)
}

func isTouch(cmd redis.Cmder) bool {
	return slices.ContainsFunc(cmd.Args(), func(a any) bool { return fmt.Sprint(a) == "justid" })
}

func (c claims) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c claims) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		switch {
		case cmd.Name() == "xclaim" && isTouch(cmd) && c.lost:
			return nil // never reaches Redis: the job's idle time grows
		case cmd.Name() == "evalsha" && fmt.Sprint(args[1]) == claimScript.Hash() && c.takeover != nil:
			c.takeover(fmt.Sprint(args[len(args)-1])) // XCLAIM, in the script
		}
		return next(ctx, cmd)
	}
}

func (c claims) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// A worker that was frozen with a job in hand, and resumes, does not take
// that job over from its own reader: the job is done once (issue 20,
// finding 5: two cleanJob spans).
func TestFrozenWorkerDoesNotRedoItsJobs(t *testing.T) {
	q := newQueue(t)
	handled := count(func(ctx context.Context, msg Message) ([]byte, error) {
		time.Sleep(2 * time.Second) // many times ClaimIdle, untouched
		return msg.Body, nil
	})
	q.worker(t, "w1", handled.Handle, func(w *Worker) {
		w.ClaimIdle = 300 * time.Millisecond
		w.Queue.rdb.AddHook(claims{lost: true})
	})
	q.wantAnswer(t, q.push(t, "slow", 10*time.Second), "slow")
	time.Sleep(time.Second) // a second handling would have started by now
	if n := handled.Calls("slow"); n != 1 {
		t.Errorf("the job was handled %d times by the worker that had it, want 1", n)
	}
}

// A job that looked abandoned, and was finished by its worker (frozen,
// then resumed) just before another worker claimed it, is no lost job:
// no alarm, and no "lost" answer after the real one (issue 20, finding 5).
func TestJobDoneMeanwhileIsNoLoss(t *testing.T) {
	q := newQueue(t)
	ctx := context.Background()
	ticket := q.push(t, "slow", 10*time.Second)
	id := q.take(t, "frozen")
	var once sync.Once
	// The frozen worker resumes, answers and acknowledges the job, in the
	// moment between the other worker's XPENDING and its XCLAIM.
	finish := func(string) {
		once.Do(func() {
			if err := q.sendAnswer(ctx, id, answer{Body: []byte("done")}); err != nil {
				t.Error(err)
			}
			if _, err := q.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
				pipe.XAck(ctx, q.Stream, q.group, id)
				pipe.XDel(ctx, q.Stream, id)
				return nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	handled := count(echo)
	logs := q.worker(t, "w2", handled.Handle, func(w *Worker) {
		w.ClaimIdle = 300 * time.Millisecond
		w.Queue.rdb.AddHook(claims{takeover: finish})
	})
	q.wantAnswer(t, ticket, "done")
	time.Sleep(time.Second) // the worker's next rounds of takeovers
	if strings.Contains(logs.String(), "deleted from the stream") {
		t.Errorf("a job done was reported lost:\n%s", logs)
	}
	if n, _ := q.rdb.LLen(ctx, q.answerKey(id)).Result(); n != 0 {
		answers, _ := q.rdb.LRange(ctx, q.answerKey(id), 0, -1).Result()
		t.Errorf("answers left for the job after its client read it: %q", answers)
	}
	if n := handled.Calls("slow"); n != 0 {
		t.Errorf("the job done was handled %d more times", n)
	}
	if n := q.pending(t); n != 0 {
		t.Errorf("%d jobs pending", n)
	}
}
