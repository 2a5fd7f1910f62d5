// Package reporting is what the steps' tracers need around the sending of
// spans that is no lesson, written once: the tracer's troubles in the
// program's log, summarised rather than repeated (with Jaeger down under
// load, jaeger-client-go reports each failed batch: ten ERROR lines a
// second).
package reporting

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
)

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
