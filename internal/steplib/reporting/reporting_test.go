package reporting

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/uber/jaeger-client-go"
	"github.com/uber/jaeger-client-go/config"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func newLogger() (*slog.Logger, *proc.Buffer) {
	var out proc.Buffer
	return slog.New(slog.NewTextHandler(&out, nil)), &out
}

// A burst of errors is one line at once, and one more that counts the
// rest on the way out: not a line each (issue 20: ten ERROR lines a
// second with Jaeger down under load).
func TestLogSummarises(t *testing.T) {
	logger, out := newLogger()
	l := NewLog(logger, "jaeger: ")
	for range 100 {
		l.Error("failed to flush Jaeger spans to server: connection refused")
	}
	if n := strings.Count(out.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d lines for a burst of 100 errors, want 1:\n%s", n, out)
	}
	l.Flush()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "more=98") || !strings.Contains(lines[1], "jaeger: failed to flush") {
		t.Errorf("after the flush:\n%s\nwant a second line with the latest error and more=98 (100 in all)", out)
	}
}

// With the collector hung, jaeger-client-go's Close would send 1,000 spans
// in ten batches of 100, each waiting 5 s. Closed through Jaeger.Closer,
// it gives up after FlushLimit, and logs how many spans it gave up
// (issue 20, finding 3).
func TestJaegerFlushBounded(t *testing.T) {
	logger, out := newLogger()
	cfg := config.Configuration{
		ServiceName: "test",
		Sampler:     &config.SamplerConfig{Type: jaeger.SamplerTypeConst, Param: 1},
		Reporter: &config.ReporterConfig{
			CollectorEndpoint: "http://" + e2e.Hung(t) + "/api/traces",
			QueueSize:         10_000, BufferFlushInterval: time.Minute,
		},
	}
	report := NewJaeger(logger)
	tracer, closer, err := cfg.NewTracer(report.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		tracer.StartSpan("request").Finish()
	}
	e2e.Within(t, FlushLimit+2*time.Second, "Close with the collector hung", func() { report.Closer(closer).Close() })
	if !strings.Contains(out.String(), "gave up flushing the spans") || strings.Contains(out.String(), "spans=0 ") {
		t.Errorf("no count of the spans given up in the log:\n%s", out)
	}
}

// With the collector answering, Close sends everything and gives up
// nothing.
func TestJaegerFlushComplete(t *testing.T) {
	logger, out := newLogger()
	reporter := jaeger.NewInMemoryReporter()
	report := NewJaeger(logger)
	tracer, closer, err := config.Configuration{
		ServiceName: "test",
		Sampler:     &config.SamplerConfig{Type: jaeger.SamplerTypeConst, Param: 1},
	}.NewTracer(append(report.Options(), config.Reporter(reporter))...)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		tracer.StartSpan("request").Finish()
	}
	if n := reporter.SpansSubmitted(); n != 10 {
		t.Errorf("%d spans reported, want 10", n)
	}
	report.Closer(closer).Close()
	if strings.Contains(out.String(), "gave up") {
		t.Errorf("spans given up with the reporter done at once:\n%s", out)
	}
}

// Step 9's SDK: its Shutdown, bounded by FlushLimit, with the spans it
// gave up counted in the log.
func TestOTelFlushBounded(t *testing.T) {
	logger, out := newLogger()
	report := NewOTel(logger)
	exporter, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpoint(e2e.Hung(t)), otlptracehttp.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(report.Counter()),
		sdktrace.WithBatcher(report.Exporter(exporter), sdktrace.WithMaxQueueSize(10_000), sdktrace.WithBatchTimeout(time.Minute)),
	)
	tracer := provider.Tracer("test")
	for range 1000 {
		_, span := tracer.Start(context.Background(), "request")
		span.End()
	}
	e2e.Within(t, FlushLimit+2*time.Second, "Shutdown with the collector hung", func() { report.Closer(provider.Shutdown).Close() })
	if !strings.Contains(out.String(), "gave up flushing the spans") || !strings.Contains(out.String(), "spans=1000") {
		t.Errorf("no count of the 1000 spans given up in the log:\n%s", out)
	}
}
