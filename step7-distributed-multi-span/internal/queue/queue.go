// Package queue carries cleaning jobs from the gateway to the cleaner over
// Redis, and the cleaner's answers back.
//
// The talk's demo pushed jobs on a list and waited for the answer on a list
// named after the repository: two requests for one repository could take
// each other's answers, a request waited forever when nobody answered, and
// a job the worker crashed on was gone. Here:
//
//   - jobs go on a Redis stream that the cleaners read as a consumer group.
//     A job stays pending until a cleaner acknowledges it, so a cleaner that
//     dies mid-job gets it again when it restarts (or another one claims it);
//   - every request waits on a reply key of its own, for a bounded time, and
//     the key expires whether or not anybody reads it;
//   - a job that cannot be read is parked on a dead-letter stream and
//     logged: never a crash, never a silent drop.
package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// JobsStream is where the gateway adds jobs.
	JobsStream = "contributors:jobs"
	// Group is the consumer group of the cleaners: each job goes to one.
	Group = "cleaners"
	// DeadLetterStream is where jobs that cannot be cleaned are parked.
	DeadLetterStream = "contributors:dead-letter"

	replyTTL = time.Minute // an unread reply disappears after this
)

// Job asks the cleaner to count the commits in GitHub's raw statistics.
type Job struct {
	ReplyTo string          `json:"reply_to"` // the key the gateway waits on
	Repo    string          `json:"repo"`     // "owner/repo", for the logs
	Stats   json.RawMessage `json:"stats"`    // GitHub's stats/contributors answer
	// Trace carries the gateway's span context, as text headers
	// (uber-trace-id), so that the cleaner's spans join the same trace.
	Trace map[string]string `json:"trace,omitempty"`
}

// Contributor is one row of the answer.
type Contributor struct {
	Login   string `json:"login"`
	Commits int    `json:"commits"`
}

// Reply is the cleaner's answer to a Job: contributors, or an error.
type Reply struct {
	Contributors []Contributor `json:"contributors"`
	Error        string        `json:"error,omitempty"`
}

// ErrNoReply means the cleaner did not answer in time.
var ErrNoReply = errors.New("no reply from the cleaner in time")

// NewReplyKey returns a reply key that no other request uses.
func NewReplyKey() string {
	id := make([]byte, 16)
	rand.Read(id)
	return "contributors:reply:" + hex.EncodeToString(id)
}

// Push adds job to the jobs stream.
func Push(ctx context.Context, rdb *redis.Client, job Job) error {
	body, err := json.Marshal(job)
	if err != nil {
		return err
	}
	return rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: JobsStream,
		MaxLen: 10000, // keep the stream from growing forever
		Approx: true,
		Values: map[string]any{"job": body},
	}).Err()
}

// WaitForReply waits up to timeout for the reply on key.
func WaitForReply(ctx context.Context, rdb *redis.Client, key string, timeout time.Duration) (Reply, error) {
	result, err := rdb.BLPop(ctx, timeout, key).Result()
	if errors.Is(err, redis.Nil) {
		return Reply{}, ErrNoReply
	}
	if err != nil {
		return Reply{}, err
	}
	var reply Reply
	if err := json.Unmarshal([]byte(result[1]), &reply); err != nil {
		return Reply{}, fmt.Errorf("unreadable reply: %w", err)
	}
	return reply, nil
}

// SendReply puts reply on key, which expires if nobody reads it (the
// gateway may have given up waiting).
func SendReply(ctx context.Context, rdb *redis.Client, key string, reply Reply) error {
	body, err := json.Marshal(reply)
	if err != nil {
		return err
	}
	_, err = rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.RPush(ctx, key, body)
		pipe.Expire(ctx, key, replyTTL)
		return nil
	})
	return err
}
