package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

// TestLogsJoinTheTrace: for one request, the gateway, the contributors
// service and the cleaner (its queue worker's line included) each log a
// line that carries the trace ID X-Trace-Id names: grep the logs for a
// trace ID and find what every program did for it.
func TestLogsJoinTheTrace(t *testing.T) {
	t.Parallel()
	s, problems := stepsuite.Start(t, 12, "..", stepsuite.Options{})
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
		stepsuite.WaitFor(t, program+"'s "+msg+" line with trace_id="+traceID, func() bool {
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
