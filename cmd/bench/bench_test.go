package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

func TestMedianAndPercentile(t *testing.T) {
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v", got)
	}
	if got := median([]float64{4, 1, 2, 3}); got != 2.5 {
		t.Errorf("median(4,1,2,3) = %v", got)
	}
	r := result{latency: []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	if got := r.percentile(0.5); got != 6 {
		t.Errorf("p50 = %v, want 6", got)
	}
	if got := r.percentile(0.99); got != 10 {
		t.Errorf("p99 = %v, want 10", got)
	}
}

// The open loop sends rate × duration requests, and records each answer's
// trace ID.
func TestOpenLoopSendsTheRate(t *testing.T) {
	var served atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("X-Trace-Id", "abc")
	}))
	defer server.Close()
	res := openLoop(context.Background(), server.URL, 100, 500*time.Millisecond)
	if res.sent != 50 || res.ok != 50 || served.Load() != 50 || len(res.traceIDs) != 50 {
		t.Errorf("sent %d, ok %d, served %d, trace IDs %d; want 50 each", res.sent, res.ok, served.Load(), len(res.traceIDs))
	}
}

func TestClosedLoopCountsFailures(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer server.Close()
	res := closedLoop(context.Background(), server.URL, 2, 200*time.Millisecond)
	if res.sent == 0 || res.ok != 0 || len(res.latency) != 0 {
		t.Errorf("sent %d, ok %d: a 503 is no success", res.sent, res.ok)
	}
}

// TestStartsStepSeven: the bench starts step 7 through internal/infra/stack
// against its own Jaeger, and counts a request's spans there.
func TestStartsStepSeven(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Jaeger, Redis and step 7")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	step, err := topology.Find(7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBench(ctx, step, t.TempDir(), map[string]string{"JAEGER_SAMPLER_PARAM": "1"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.jaegerInst.Stop()
	s, err := b.start(true)
	if err != nil {
		t.Fatal(err)
	}
	spans, err := b.spansPerRequest(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("stopping step 7: %v", err)
	}
	// Step 7's trace of one request: the gateway's, the contributors
	// service's and the cleaner's spans at least.
	if spans < 3 {
		t.Errorf("one request's trace has %d spans; want 3 or more", spans)
	}
}
