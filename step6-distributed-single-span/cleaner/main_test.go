package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/step6-distributed-single-span/internal/queue"
)

func init() { badThings = false }

func job(t *testing.T, owner, repo string) queue.Job {
	stats, err := json.Marshal(fakegithub.Stats(owner, repo))
	if err != nil {
		t.Fatal(err)
	}
	return queue.Job{ReplyTo: "reply", Repo: owner + "/" + repo, Stats: stats}
}

func TestCleanJobCountsCommits(t *testing.T) {
	reply := cleanJob(context.Background(), job(t, "torvalds", "linux"))
	var got []contracttest.Contributor
	for _, c := range reply.Contributors {
		got = append(got, contracttest.Contributor{Login: c.Login, Commits: c.Commits})
	}
	if want := contracttest.Expected("torvalds", "linux"); reply.Error != "" || !slices.Equal(got, want) {
		t.Errorf("reply = %+v, want %v", reply, want)
	}
}

func TestCleanJobWithUnreadableStats(t *testing.T) {
	reply := cleanJob(context.Background(), queue.Job{ReplyTo: "r", Repo: "a/b", Stats: json.RawMessage(`{"not":"a list"}`)})
	if reply.Error == "" || reply.Contributors != nil {
		t.Errorf("reply = %+v, want an error", reply)
	}
}
