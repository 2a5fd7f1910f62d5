package main

import (
	"strings"
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// Steps 8 on offer the baggage experiment; the steps before have no
// baggage to show.
func TestBaggageHint(t *testing.T) {
	for _, step := range topology.Steps() {
		hint := baggage(step, "http://127.0.0.1:8000")
		switch {
		case step.Number >= 8 && !strings.Contains(hint, "-H 'X-Requested-By: alice' http://127.0.0.1:8000/git/"):
			t.Errorf("step %d: hint %q, want the X-Requested-By request", step.Number, hint)
		case step.Number < 8 && hint != "":
			t.Errorf("step %d: hint %q, want none", step.Number, hint)
		}
	}
}

// Step 12 offers the sampling experiment, as a command to copy; the steps
// before sample nothing.
func TestSamplingHint(t *testing.T) {
	for _, step := range topology.Steps() {
		hint := sampling(step, "http://127.0.0.1:8000", "http://127.0.0.1:16686")
		switch {
		case step.Number >= 12 && (!strings.Contains(hint, "curl -si http://127.0.0.1:8000/git/$repo") ||
			!strings.Contains(hint, "broken/x1") || !strings.Contains(hint, "http://127.0.0.1:16686/api/traces/$id") ||
			!strings.Contains(hint, step.JaegerRoles+"/strategies.json")):
			t.Errorf("step %d: hint %q, want the sampling experiment", step.Number, hint)
		case step.Number < 12 && hint != "":
			t.Errorf("step %d: hint %q, want none", step.Number, hint)
		}
	}
}
