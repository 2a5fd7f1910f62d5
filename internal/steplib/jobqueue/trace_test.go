package jobqueue

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

type traceKey struct{}

// withTrace is a log handler that adds the context's trace (traceKey),
// as a step's tracing.LogHandler adds the trace_id of the context's span.
type withTrace struct{ slog.Handler }

func (h withTrace) Handle(ctx context.Context, r slog.Record) error {
	if trace, ok := ctx.Value(traceKey{}).(string); ok {
		r.AddAttrs(slog.String("trace", trace))
	}
	return h.Handler.Handle(ctx, r)
}

func (h withTrace) WithAttrs(attrs []slog.Attr) slog.Handler {
	return withTrace{h.Handler.WithAttrs(attrs)}
}

// The worker does a job in the context Trace gives (the job's span, from
// its headers), logs its lines about the job with it, one line per job
// included, and ends the trace with the job's error.
func TestWorkerLogsInTheJobsTrace(t *testing.T) {
	q := newQueue(t)
	var (
		mu    sync.Mutex
		ended = map[string]error{}
	)
	trace := func(ctx context.Context, msg Message) (context.Context, func(error)) {
		ctx = context.WithValue(ctx, traceKey{}, msg.Headers["trace"])
		return ctx, func(err error) { mu.Lock(); ended[msg.Headers["trace"]] = err; mu.Unlock() }
	}
	handle := func(ctx context.Context, msg Message) ([]byte, error) {
		if got, _ := ctx.Value(traceKey{}).(string); got != msg.Headers["trace"] {
			t.Errorf("the handler's context has trace %q, want %q", got, msg.Headers["trace"])
		}
		if string(msg.Body) == "fail" {
			return nil, errors.New("no luck")
		}
		return msg.Body, nil
	}
	// A job a crashed worker took: the worker takes it over, in its trace.
	taken, err := q.Push(context.Background(), Message{Headers: map[string]string{"trace": "t-taken"}, Body: []byte("taken")}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	q.take(t, "crashed")
	var logs proc.Buffer
	q.worker(t, "w1", handle, func(w *Worker) {
		w.Logger = slog.New(withTrace{slog.NewTextHandler(&logs, nil)})
		w.Trace = trace
		w.ClaimIdle = 300 * time.Millisecond
	})
	q.wantAnswer(t, taken, "taken")
	for _, body := range []string{"ok", "fail"} {
		ticket, err := q.Push(context.Background(), Message{Headers: map[string]string{"trace": "t-" + body}, Body: []byte(body)}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		q.WaitForAnswer(context.Background(), ticket)
	}
	eventually(t, 5*time.Second, "the traces never ended", func() bool { mu.Lock(); defer mu.Unlock(); return len(ended) == 3 })
	if ended["t-ok"] != nil || ended["t-fail"] == nil || ended["t-fail"].Error() != "no luck" {
		t.Errorf("the traces ended with %v, want nil for t-ok and no luck for t-fail", ended)
	}
	for _, want := range [][]string{{"msg=job ", "failed=false"}, {"msg=job ", "failed=true"}, {"the job failed"}, {"took over an abandoned job", "from=crashed"}} {
		found := false
		for line := range strings.Lines(logs.String()) {
			if containsAll(line, want) {
				found = true
				if !strings.Contains(line, "trace=t-") {
					t.Errorf("a line about a job carries no trace: %s", line)
				}
			}
		}
		if !found {
			t.Errorf("no line %q in the worker's log:\n%s", want, logs.String())
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
