package jobqueue

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A job whose body its handler cannot read (the handler's error wraps
// ErrMalformed) is answered, logged and moved to the dead-letter stream,
// like one the queue cannot decode; any other failure is answered and
// logged (issue 20: "answered and deleted with no log line and no dead
// letter").
func TestUnreadableBodyIsDeadLettered(t *testing.T) {
	q := newQueue(t)
	logs := q.worker(t, "w1", func(ctx context.Context, msg Message) ([]byte, error) {
		if string(msg.Body) == "not JSON" {
			return nil, fmt.Errorf("%w: its body is not JSON", ErrMalformed)
		}
		return nil, fmt.Errorf("statistics of %s are unreadable", msg.Body)
	})
	bad := q.push(t, "not JSON", 5*time.Second)
	q.wantJobError(t, bad, "its body is not JSON")
	q.wantJobError(t, q.push(t, "a/b", 5*time.Second), "statistics of a/b are unreadable")

	eventually(t, 5*time.Second, "no dead letter", func() bool { return len(q.deadLetters(t)) > 0 })
	dead := q.deadLetters(t)
	if len(dead) != 1 || dead[0].Values["job"] != bad.ID || !strings.Contains(fmt.Sprint(dead[0].Values["reason"]), "malformed job") {
		t.Errorf("dead letters = %v, want the unreadable job alone, as a malformed job", dead)
	}
	eventually(t, 5*time.Second, "no log line for each failed job", func() bool {
		return strings.Contains(logs.String(), "job moved to the dead-letter stream") &&
			strings.Contains(logs.String(), "statistics of a/b are unreadable")
	})
}
