package reporting

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a log that goroutines may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger() (*slog.Logger, *syncBuffer) {
	var out syncBuffer
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
