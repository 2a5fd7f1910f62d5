package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/jobqueue"
)

func init() { badThings = false }

// message is a job as the gateway queues it.
func message(t *testing.T, repo string, stats any) jobqueue.Message {
	t.Helper()
	body, err := json.Marshal(map[string]any{"repo": repo, "stats": stats})
	if err != nil {
		t.Fatal(err)
	}
	return jobqueue.Message{Body: body}
}

func TestCleanJobCountsCommits(t *testing.T) {
	answer, err := cleanJob(context.Background(), message(t, "torvalds/linux", fakegithub.Stats("torvalds", "linux")))
	var got []contracttest.Contributor
	if err == nil {
		err = json.Unmarshal(answer, &got)
	}
	if want := contracttest.Expected("torvalds", "linux"); err != nil || !slices.Equal(got, want) {
		t.Errorf("answer = %s (%v), want %v", answer, err, want)
	}
}

func TestCleanJobWithUnreadableStats(t *testing.T) {
	answer, err := cleanJob(context.Background(), message(t, "a/b", map[string]string{"not": "a list"}))
	if err == nil || answer != nil {
		t.Errorf("answer = %s, %v; want an error", answer, err)
	}
}
