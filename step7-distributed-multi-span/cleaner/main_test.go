package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/tracing-tutorial/tutorial/internal/contracttest"
	"github.com/tracing-tutorial/tutorial/internal/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/tracetest"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/queue"
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

// The tests below install a global tracer: they must not run in parallel.

// TestCleanJobContinuesTheTrace: step 7's lesson on this side. The job
// carries the gateway's producer span context; cleanJob is a consumer
// span under it, and countCommits under cleanJob.
func TestCleanJobContinuesTheTrace(t *testing.T) {
	tracer := tracetest.Install(t)
	push := tracer.StartSpan("queue.Push") // the gateway's producer span
	j := job(t, "golang", "go")
	j.Trace = map[string]string{}
	if err := tracer.Inject(push.Context(), opentracing.TextMap, opentracing.TextMapCarrier(j.Trace)); err != nil {
		t.Fatal(err)
	}
	reply := cleanJob(context.Background(), j)
	push.Finish()

	if len(reply.Contributors) != len(contracttest.Expected("golang", "go")) || reply.Error != "" {
		t.Errorf("reply = %+v, want golang/go's contributors", reply)
	}
	want := "queue.Push\n  cleanJob\n    countCommits\n"
	if got := tracetest.Tree(tracer.FinishedSpans()); got != want {
		t.Errorf("spans:\n%s\nwant:\n%s", got, want)
	}
	clean := tracetest.Find(t, tracer, "cleanJob")
	tracetest.WantChildOf(t, clean, push.Context())
	for key, want := range map[string]any{
		"span.kind": ext.SpanKindConsumerEnum, "message_bus.destination": queue.JobsStream, "repo": "golang/go",
	} {
		if got := clean.Tag(key); got != want {
			t.Errorf("cleanJob: tag %s = %v, want %v", key, got, want)
		}
	}
}

// TestCleanJobWithoutTrace: a job without a trace context, or with a
// broken one, is cleaned all the same, in a trace of its own.
func TestCleanJobWithoutTrace(t *testing.T) {
	for name, trace := range map[string]map[string]string{
		"none":   nil,
		"broken": {"mockpfx-ids-traceid": "not a number", "mockpfx-ids-spanid": "7"},
	} {
		tracer := tracetest.Install(t)
		j := job(t, "torvalds", "linux")
		j.Trace = trace
		reply := cleanJob(context.Background(), j)
		if len(reply.Contributors) != len(contracttest.Expected("torvalds", "linux")) || reply.Error != "" {
			t.Errorf("%s: reply = %+v, want torvalds/linux's contributors", name, reply)
		}
		if got, want := tracetest.Tree(tracer.FinishedSpans()), "cleanJob\n  countCommits\n"; got != want {
			t.Errorf("%s: spans:\n%s\nwant:\n%s", name, got, want)
		}
		if span := tracetest.Find(t, tracer, "cleanJob"); span.ParentID != 0 {
			t.Errorf("%s: cleanJob has parent %d, want a new trace", name, span.ParentID)
		}
	}
}

// TestUnreadableStatsMarkTheSpan: the job's failure shows on its span.
func TestUnreadableStatsMarkTheSpan(t *testing.T) {
	tracer := tracetest.Install(t)
	cleanJob(context.Background(), queue.Job{ReplyTo: "r", Repo: "a/b", Stats: json.RawMessage(`{"not":"a list"}`)})
	if span := tracetest.Find(t, tracer, "cleanJob"); span.Tag("error") != true {
		t.Errorf("cleanJob of unreadable statistics: error tag %v, want true", span.Tag("error"))
	}
}
