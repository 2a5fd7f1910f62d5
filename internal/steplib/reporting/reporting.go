// Package reporting is what the steps' tracers need around the sending of
// spans that is no lesson, written once: the tracer's troubles in the
// program's log, summarised rather than repeated (with Jaeger down under
// load, jaeger-client-go reports each failed batch: ten ERROR lines a
// second), and a flush on the way out that ends in time, with the spans it
// gave up counted in the log.
//
// jaeger-client-go's Close sends every span still queued (up to 10,000, in
// batches of 100, each send waiting up to 5 s): with Jaeger hung, minutes,
// and docker compose kills the program long before (issue 20, finding 3).
package reporting

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uber/jaeger-client-go/config"
	"github.com/uber/jaeger-lib/metrics"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// FlushLimit is how long a program flushes its spans on the way out, once
// its requests are done: within topology.ExitGrace (3 s), which whatever
// stops it (the runner, docker compose's stop_grace_period) waits after
// the program's drain.
const FlushLimit = 2 * time.Second

// SummaryEvery is how often, at most, the tracer's errors are logged: the
// first at once, then one line per SummaryEvery with how many there were.
const SummaryEvery = 10 * time.Second

// Log puts a tracer's troubles in the program's log, each as an ERROR
// line that starts with its prefix ("jaeger: "), at most one line per
// SummaryEvery. It is a jaeger.Logger (Error, Infof), and Error is what
// OpenTelemetry's error handler calls.
type Log struct {
	logger *slog.Logger
	prefix string

	mu     sync.Mutex
	last   time.Time // when a line was last logged
	more   int       // errors since, not logged
	latest string    // the last of them
}

// NewLog returns a Log for logger whose lines start with prefix.
func NewLog(logger *slog.Logger, prefix string) *Log {
	return &Log{logger: logger, prefix: prefix}
}

// Error logs msg, or counts it if a line was logged less than
// SummaryEvery ago.
func (l *Log) Error(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && time.Since(l.last) < SummaryEvery {
		l.more++
		l.latest = msg
		return
	}
	l.logLocked(msg)
}

func (l *Log) logLocked(msg string) {
	if l.more > 0 {
		l.logger.Error(l.prefix+msg, "more", l.more, "since", l.last.Format(time.TimeOnly))
	} else {
		l.logger.Error(l.prefix + msg)
	}
	l.last, l.more, l.latest = time.Now(), 0, ""
}

// Flush logs the errors counted and not yet logged, if any: the program
// is on its way out.
func (l *Log) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.more > 0 {
		l.more-- // the latest is the line itself
		l.logLocked(l.latest)
	}
}

// Infof gets the tracer's chatter ("debug logging disabled"): debug level.
func (l *Log) Infof(msg string, args ...any) {
	l.logger.Debug(l.prefix + fmt.Sprintf(msg, args...))
}

// Debugf is jaeger.Logger's debug level (jaeger.DebugLogger).
func (l *Log) Debugf(msg string, args ...any) { l.Infof(msg, args...) }

// Jaeger is what a jaeger-client-go tracer reports through: Options for
// config.NewTracer, and Closer for the tracer's io.Closer.
type Jaeger struct {
	log    *Log
	counts spanCounts
}

// NewJaeger returns a Jaeger that logs to logger.
func NewJaeger(logger *slog.Logger) *Jaeger {
	return &Jaeger{log: NewLog(logger, "jaeger: ")}
}

// Options are config.NewTracer's options: the log, and the counters of
// spans finished and sent.
func (j *Jaeger) Options() []config.Option {
	return []config.Option{config.Logger(j.log), config.Metrics(&j.counts)}
}

// Closer returns closer (the tracer's), made to flush for FlushLimit at
// most: then it gives up the spans not sent, and says how many.
func (j *Jaeger) Closer(closer io.Closer) io.Closer {
	return closerFunc(func() error {
		done := make(chan error, 1)
		go func() { done <- closer.Close() }()
		select {
		case err := <-done:
			j.log.Flush()
			return err
		case <-time.After(FlushLimit):
		}
		j.log.Flush()
		j.log.logger.Error("jaeger: gave up flushing the spans on the way out",
			"spans", j.counts.unsent(), "after", FlushLimit)
		return nil
	})
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// spanCounts is a jaeger-lib metrics.Factory that keeps the counters of
// spans the tracer finished and of spans its reporter sent, failed to
// send or dropped; it discards all other metrics.
type spanCounts struct {
	finished, sent, failed, dropped atomic.Int64
}

// unsent is how many spans finished and never reached the sender's end.
func (c *spanCounts) unsent() int64 {
	return c.finished.Load() - c.sent.Load() - c.failed.Load() - c.dropped.Load()
}

func (c *spanCounts) Counter(o metrics.Options) metrics.Counter {
	switch {
	case o.Name == "finished_spans" && o.Tags["sampled"] == "y":
		return counter{&c.finished}
	case o.Name == "reporter_spans" && o.Tags["result"] == "ok":
		return counter{&c.sent}
	case o.Name == "reporter_spans" && o.Tags["result"] == "err":
		return counter{&c.failed}
	case o.Name == "reporter_spans" && o.Tags["result"] == "dropped":
		return counter{&c.dropped}
	}
	return metrics.NullCounter
}

func (c *spanCounts) Timer(metrics.TimerOptions) metrics.Timer { return metrics.NullTimer }
func (c *spanCounts) Gauge(metrics.Options) metrics.Gauge      { return metrics.NullGauge }
func (c *spanCounts) Histogram(metrics.HistogramOptions) metrics.Histogram {
	return metrics.NullHistogram
}
func (c *spanCounts) Namespace(metrics.NSOptions) metrics.Factory { return c }

type counter struct{ n *atomic.Int64 }

func (c counter) Inc(delta int64) { c.n.Add(delta) }

// OTel is what an OpenTelemetry SDK tracer provider reports through: its
// error handler's log, an exporter that counts the spans it sent, a span
// processor that counts the spans ended, and Shutdown, bounded.
type OTel struct {
	Log           *Log
	ended, sent   atomic.Int64
	shutdownLimit time.Duration
}

// NewOTel returns an OTel that logs to logger.
func NewOTel(logger *slog.Logger) *OTel {
	return &OTel{Log: NewLog(logger, "opentelemetry: "), shutdownLimit: FlushLimit}
}

// Exporter returns exporter, counting the spans it exported.
func (o *OTel) Exporter(exporter sdktrace.SpanExporter) sdktrace.SpanExporter {
	return countingExporter{exporter, o}
}

type countingExporter struct {
	sdktrace.SpanExporter
	o *OTel
}

func (e countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err == nil {
		e.o.sent.Add(int64(len(spans)))
	}
	return err
}

// Counter is a span processor that counts the spans ended.
func (o *OTel) Counter() sdktrace.SpanProcessor { return endCounter{o} }

type endCounter struct{ o *OTel }

func (endCounter) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c endCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.SpanContext().IsSampled() {
		c.o.ended.Add(1)
	}
}
func (endCounter) Shutdown(context.Context) error   { return nil }
func (endCounter) ForceFlush(context.Context) error { return nil }

// Closer returns an io.Closer that shuts the provider down (shutdown is
// its Shutdown), flushing for FlushLimit at most; then it gives up the
// spans not sent, and says how many.
func (o *OTel) Closer(shutdown func(context.Context) error) io.Closer {
	return closerFunc(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), o.shutdownLimit)
		defer cancel()
		err := shutdown(ctx)
		o.Log.Flush()
		if unsent := o.ended.Load() - o.sent.Load(); unsent > 0 {
			o.Log.logger.Error("opentelemetry: gave up flushing the spans on the way out",
				"spans", unsent, "after", o.shutdownLimit, "error", err)
			return nil
		}
		return err
	})
}
