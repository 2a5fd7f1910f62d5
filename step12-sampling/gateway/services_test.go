package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
)

// TestQueueError: each way the queue fails has its own status and words,
// so that a client (and a learner reading the answer) knows whose problem
// it is and whether to try again.
func TestQueueError(t *testing.T) {
	for _, c := range []struct {
		err        error
		status     int
		message    string
		retryAfter string
	}{
		{jobqueue.ErrNoAnswer, http.StatusGatewayTimeout, "the cleaner did not answer in time", ""},
		{&jobqueue.JobError{Reason: "the cleaner failed on this job 3 times"}, http.StatusBadGateway, "the cleaner failed on this job 3 times", ""},
		{fmt.Errorf("pushing: %w", jobqueue.ErrFull), http.StatusServiceUnavailable, "the queue is full; try again shortly", "5"},
		{jobqueue.ErrBusy, http.StatusServiceUnavailable, "too many requests are waiting for the cleaner; try again shortly", "5"},
		{fmt.Errorf("%w: body of 9437184 bytes, at most 8388608", jobqueue.ErrTooLarge), http.StatusBadGateway, "the repository's statistics are too large for the queue", ""},
		{errors.New("dial tcp 127.0.0.1:6379: connect: connection refused"), http.StatusServiceUnavailable, "the queue (Redis) is unavailable; try again shortly", "5"},
	} {
		var got *web.Failure
		if !errors.As(queueError(c.err), &got) {
			t.Fatalf("queueError(%v) is not a *web.Failure", c.err)
		}
		if got.Status != c.status || got.Message != c.message || got.RetryAfter != c.retryAfter {
			t.Errorf("queueError(%v) = %d %q (Retry-After %q), want %d %q (Retry-After %q)",
				c.err, got.Status, got.Message, got.RetryAfter, c.status, c.message, c.retryAfter)
		}
	}
}

// TestStatsTooLarge: statistics over what a job may carry get the same
// answer as a job the queue refuses, read no further than that.
func TestStatsTooLarge(t *testing.T) {
	contributors := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte(" "), jobqueue.MaxBody+1))
	}))
	defer contributors.Close()
	a := &app{contributorsURL: contributors.URL, http: contributors.Client()}
	_, err := a.fetchStats(t.Context(), "huge", "repo")
	var got *web.Failure
	if !errors.As(err, &got) || got.Status != http.StatusBadGateway || got.Message != "the repository's statistics are too large for the queue" {
		t.Errorf("fetchStats of %d bytes: %v, want 502 the repository's statistics are too large for the queue", jobqueue.MaxBody+1, err)
	}
}
