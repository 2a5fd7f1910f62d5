package jaeger

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// countingExporter counts the spans its exporter delivered (the collector
// answered OK) and the spans of the batches it gave up on.
type countingExporter struct {
	sdktrace.SpanExporter
	delivered, failed atomic.Int64
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.failed.Add(int64(len(spans)))
	} else {
		e.delivered.Add(int64(len(spans)))
	}
	return err
}

// TestRolesCollectorOutageLoss measures what a collector outage costs a
// program whose SDK is set up as step 11's tracing.Init sets it up (OTLP
// over HTTP with its default retries, a batch processor with a queue of
// 10,000 spans and its other defaults): spans made at a steady rate, the
// collector killed (or paused) for a while, then back, and every span the
// SDK still holds flushed. The lost spans are those the collector never
// acknowledged: the batches whose export gave up, and those dropped when
// the queue was full. The figures go in step 11's README:
//
//	nice go test ./internal/infra/jaeger -run TestRolesCollectorOutageLoss -v
func TestRolesCollectorOutageLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute and a half of outages and recovery")
	}
	const (
		rate   = 400 // spans a second: the gateway's 4 spans a request, at 100 requests a second
		outage = 40 * time.Second
	)
	t.Run("killed", func(t *testing.T) {
		// Nothing listens: each export fails at once, and its batch of
		// 512 is lost. The queue never fills; it does not help.
		lost, madeDuringOutage := measureOutage(t, rate, outage,
			func(r *Role) error { r.Kill(); return nil },
			func(r *Role) error { return r.Start(t.Context()) })
		if lost < madeDuringOutage*8/10 {
			t.Errorf("lost %d of the %d spans made during the outage, want at least 80%%", lost, madeDuringOutage)
		}
	})
	t.Run("paused", func(t *testing.T) {
		// The collector holds its connections and answers nothing: each
		// export waits for its timeout, the queue fills, then drops.
		lost, madeDuringOutage := measureOutage(t, rate, outage,
			func(r *Role) error { r.Process().Signal(syscall.SIGSTOP); return nil },
			func(r *Role) error { r.Process().Signal(syscall.SIGCONT); return nil })
		// The queue's 10,000 held, less a batch or so: 25 s at 400 a second.
		if held := madeDuringOutage - lost; held < 9_000 {
			t.Errorf("of the %d spans made during the outage, %d held, want the queue's 10,000 (less a batch)", madeDuringOutage, held)
		}
	})
}

// measureOutage makes spans at rate a second with an SDK set up as step
// 11's, breaks the collector with down for outage, mends it with
// up, and returns how many spans the collector never took and how many
// were made during the outage.
func measureOutage(t *testing.T, rate int, outage time.Duration, down, up func(*Role) error) (lost, madeDuringOutage int64) {
	const steady = 3 * time.Second // before the outage, and after it
	roles := startRoles(t, RolesOptions{})

	// What the SDK tells the program: step 11's programs log it.
	var mu sync.Mutex
	var said []string
	defer otel.SetErrorHandler(otel.GetErrorHandler())
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		mu.Lock()
		defer mu.Unlock()
		said = append(said, err.Error())
	}))

	otlp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(roles.OTLPEndpoint+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	exporter := &countingExporter{SpanExporter: otlp}
	provider := sdktrace.NewTracerProvider(
		// step 11's queue (tracing.Init): 10,000 spans, not the SDK's 2048.
		sdktrace.WithBatcher(exporter, sdktrace.WithMaxQueueSize(10_000)),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName("outage-test"))))
	tracer := provider.Tracer("outage_test")

	// Spans at rate, 1/100 of them every 10 ms, until stop.
	var made atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				for range rate / 100 {
					_, span := tracer.Start(context.Background(), "work")
					span.End()
					made.Add(1)
				}
			}
		}
	}()

	time.Sleep(steady)
	before := made.Load()
	if err := down(roles.Collector); err != nil {
		t.Fatal(err)
	}
	wentDown := time.Now()
	time.Sleep(outage)
	madeDuringOutage = made.Load() - before
	if err := up(roles.Collector); err != nil {
		t.Fatal(err)
	}
	downFor := time.Since(wentDown)
	time.Sleep(steady)
	close(stop)
	<-done

	// Whatever the SDK still holds, the collector now takes.
	flush, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	if err := provider.Shutdown(flush); err != nil {
		t.Errorf("flushing after the outage: %v", err)
	}
	total, delivered, failed := made.Load(), exporter.delivered.Load(), exporter.failed.Load()
	dropped := total - delivered - failed // never exported: the queue was full
	lost = failed + dropped
	t.Logf("%d spans a second; collector down %s; flushed in %s",
		rate, downFor.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	t.Logf("made %d (%d during the outage), delivered %d, lost %d (%d in batches whose export gave up, %d dropped at a full queue)",
		total, madeDuringOutage, delivered, lost, failed, dropped)
	t.Logf("lost %.0f spans a second of outage, of the %d a second made: %.0f%% of the spans made during the outage",
		float64(lost)/downFor.Seconds(), rate, 100*float64(lost)/float64(madeDuringOutage))
	mu.Lock()
	t.Logf("the SDK's error handler was called %d times", len(said))
	for _, msg := range said[:min(3, len(said))] {
		t.Logf("  %s", msg)
	}
	mu.Unlock()

	// The collector took spans before and after: lost is the outage's.
	if min := int64(rate) * int64(steady/time.Second); delivered < min {
		t.Errorf("delivered %d spans, want the steady state's %d at least", delivered, min)
	}
	if lost > madeDuringOutage+512 {
		t.Errorf("lost %d spans, more than the %d made during the outage and a batch", lost, madeDuringOutage)
	}
	return lost, madeDuringOutage
}
