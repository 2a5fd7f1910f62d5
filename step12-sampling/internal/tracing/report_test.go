package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/steplib/reporting"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"go.opentelemetry.io/otel"
)

// syncBuffer is a log the SDK's goroutines write while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// initTo runs Init with the OTLP endpoint and the environment given, and
// returns its closer and its log.
func initTo(t *testing.T, endpoint string, env map[string]string) (interface{ Close() error }, *syncBuffer) {
	t.Helper()
	previous, propagator := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(previous); otel.SetTextMapPropagator(propagator) })
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	for key, value := range env {
		t.Setenv(key, value)
	}
	out := &syncBuffer{}
	closer, err := Init(context.Background(), "gateway", slog.New(slog.NewTextHandler(out, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return closer, out
}

// TestFlushBounded: with Jaeger hung (it accepts connections and never
// answers), the flush on the way out gives up after reporting.FlushLimit
// instead of waiting out the exporter's timeouts and retries, and says in
// the log how many spans it gave up (issue 20, finding 3).
func TestFlushBounded(t *testing.T) {
	closer, out := initTo(t, "http://"+e2e.Hung(t), map[string]string{"OTEL_BSP_SCHEDULE_DELAY": "60000"})
	for range 100 {
		_, span := otel.Tracer(Scope).Start(context.Background(), "request")
		span.End()
	}
	e2e.Within(t, reporting.FlushLimit+2*time.Second, "Close with Jaeger hung", func() { closer.Close() })
	if !strings.Contains(out.String(), "gave up flushing the spans") || !strings.Contains(out.String(), "spans=100") {
		t.Errorf("no count of the 100 spans given up in the log:\n%s", out)
	}
}

// TestExportErrorsSummarised: with Jaeger down and spans to send every
// 10 ms, the SDK fails a batch after another; the log has the first
// failure and no more than a summary, not an ERROR line a batch.
func TestExportErrorsSummarised(t *testing.T) {
	closer, out := initTo(t, "http://127.0.0.1:1", map[string]string{
		"OTEL_BSP_SCHEDULE_DELAY": "10", "OTEL_EXPORTER_OTLP_TIMEOUT": "100",
	})
	defer closer.Close()
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		_, span := otel.Tracer(Scope).Start(context.Background(), "request")
		span.End()
	}
	if n := strings.Count(out.String(), "level=ERROR"); n < 1 || n > 2 {
		t.Errorf("%d ERROR lines with Jaeger down, want the first failure and a summary at most:\n%s", n, out)
	}
}
