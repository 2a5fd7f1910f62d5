package main

// End-to-end: the step's three programs as real processes, with a real
// Redis, a real Jaeger and the stand-in GitHub, held to what every
// distributed step promises and to step 7's lesson (internal/lesson): one
// trace across the three services, over HTTP headers and inside the job.

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

func TestMain(m *testing.M) { os.Exit(lesson.Main(m)) }

func TestE2E(t *testing.T) {
	t.Parallel()
	lesson.TestDistributed(t, 7, "..", lesson.Distributed{Trace: cleanJobFollowsFrom})
}

// cleanJobFollowsFrom: the cleaner's span follows from the gateway's
// queue.Push (Jaeger draws it under queue.Push all the same).
func cleanJobFollowsFrom(t *testing.T, _ *lesson.Stack, trace jaeger.Trace) {
	found := false
	for _, span := range trace.Spans {
		if trace.ServiceName(span) != "cleaner" || span.OperationName != "cleanJob" {
			continue
		}
		found = true
		if len(span.References) != 1 || span.References[0].RefType != "FOLLOWS_FROM" {
			t.Errorf("cleaner: cleanJob: references %+v, want one FOLLOWS_FROM", span.References)
		}
	}
	if !found {
		t.Error("no cleaner span cleanJob in the trace")
	}
}

// TestLogsJoinTheTrace: for one request, the gateway, the contributors
// service and the cleaner (its queue worker's line included) each log a
// line that carries the trace ID X-Trace-Id names: grep the logs for a
// trace ID and find what every program did for it.
func TestLogsJoinTheTrace(t *testing.T) {
	t.Parallel()
	s, problems := lesson.Start(t, 7, "..", lesson.Options{})
	if problems != nil {
		t.Fatal(problems)
	}
	resp, err := http.Get(s.URL + "/git/golang/go")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	traceID := resp.Header.Get("X-Trace-Id")
	if resp.StatusCode != http.StatusOK || traceID == "" {
		t.Fatalf("%s, X-Trace-Id %q: want 200 and a trace ID", resp.Status, traceID)
	}
	for program, msg := range map[string]string{"gateway": "msg=request", "contributors": "msg=request", "cleaner": "msg=job"} {
		var line string
		lesson.WaitFor(t, program+"'s "+msg+" line with trace_id="+traceID, func() bool {
			for l := range strings.Lines(s.Programs[program].Output()) {
				if strings.Contains(l, msg+" ") && strings.Contains(l, "trace_id="+traceID) {
					line = l
				}
			}
			return line != ""
		})
		if !strings.Contains(line, "span_id=") || !strings.Contains(line, "service="+program) {
			t.Errorf("%s's line names no span_id or service: %s", program, line)
		}
	}
}
