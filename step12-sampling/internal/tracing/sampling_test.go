package tracing

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// sampledOf starts n new traces and returns how many the SDK records.
func sampledOf(n int) int {
	sampled := 0
	for range n {
		_, span := otel.Tracer(Scope).Start(context.Background(), "request")
		if span.SpanContext().IsSampled() {
			sampled++
		}
		span.End()
	}
	return sampled
}

// TestHeadSamplingATenth: OTEL_TRACES_SAMPLER=parentbased_traceidratio at
// 0.1 records about one new trace in ten, and a trace its caller sampled
// whatever its ID: parent-based, a trace is recorded whole or not at all.
func TestHeadSamplingATenth(t *testing.T) {
	closer, _ := initTo(t, "http://127.0.0.1:1", map[string]string{
		"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1",
	})
	defer closer.Close()
	if got := sampledOf(10_000); got < 800 || got > 1200 {
		t.Errorf("%d of 10,000 traces sampled, want about 1,000", got)
	}
	// A caller's sampled trace ID with the lowest bits set: the ratio
	// alone would drop it; its parent's flag keeps it.
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		SpanID:  trace.SpanID{1}, TraceFlags: trace.FlagsSampled, Remote: true,
	})
	_, span := otel.Tracer(Scope).Start(trace.ContextWithRemoteSpanContext(context.Background(), parent), "child")
	defer span.End()
	if !span.SpanContext().IsSampled() {
		t.Error("a child of a sampled remote span is not sampled: the trace would be partial")
	}
}

// TestRemoteSamplingFollowsTheServer: with parentbased_jaeger_remote the
// SDK samples as the sampling server says, asks again every
// pollingIntervalMs, and changes its rate when the answer changes,
// without a restart. The server stands in for the collector's
// remote_sampling extension, in its JSON.
func TestRemoteSamplingFollowsTheServer(t *testing.T) {
	var probability atomic.Value
	probability.Store("0")
	var asked atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/sampling" || r.URL.Query().Get("service") != "gateway" {
			http.NotFound(w, r)
			return
		}
		asked.Add(1)
		fmt.Fprintf(w, `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":%s}}`, probability.Load())
	}))
	defer server.Close()
	closer, _ := initTo(t, "http://127.0.0.1:1", map[string]string{
		"OTEL_TRACES_SAMPLER":     "parentbased_jaeger_remote",
		"OTEL_TRACES_SAMPLER_ARG": "endpoint=" + server.URL + "/sampling,pollingIntervalMs=50,initialSamplingRate=1",
	})
	defer closer.Close()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("after 10 s: %s", what)
			}
		}
	}
	waitFor("the SDK never asked the sampling server", func() bool { return asked.Load() > 0 })
	waitFor("the server says 0, and the SDK still samples", func() bool { return sampledOf(100) == 0 })
	probability.Store("1")
	waitFor("the server says 1, and the SDK does not sample every trace", func() bool { return sampledOf(100) == 100 })
}

// TestRemoteSamplerNotAnError: the SDK reads OTEL_TRACES_SAMPLER too, and
// does not know parentbased_jaeger_remote; the program's log does not
// call it an error.
func TestRemoteSamplerNotAnError(t *testing.T) {
	// Before Init sets its handler, the SDK's errors go to the standard log.
	var stdlog syncBuffer
	log.SetOutput(&stdlog)
	defer log.SetOutput(os.Stderr)
	closer, out := initTo(t, "http://127.0.0.1:1", map[string]string{
		"OTEL_TRACES_SAMPLER":     "parentbased_jaeger_remote",
		"OTEL_TRACES_SAMPLER_ARG": "endpoint=http://127.0.0.1:1/sampling,pollingIntervalMs=60000,initialSamplingRate=1",
	})
	defer closer.Close()
	if said := out.String() + stdlog.String(); strings.Contains(said, "unsupported sampler") {
		t.Errorf("the log calls the remote sampler unsupported:\n%s", said)
	}
}
