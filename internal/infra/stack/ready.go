package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
)

const (
	// ReadyTimeout bounds every wait for a part to be ready: a program
	// that needs longer than this on a loaded laptop is stuck.
	ReadyTimeout = 20 * time.Second
	readyPoll    = 25 * time.Millisecond

	// FlushInterval is the programs' JAEGER_REPORTER_FLUSH_INTERVAL and
	// OTEL_BSP_SCHEDULE_DELAY: a span reaches Jaeger this soon after it
	// ends, so the first trace shows at once.
	FlushInterval = 100 * time.Millisecond

	// Settle is how long a trace must stay the same before whoever reads
	// it takes it as whole: the runner, showing the example's trace, and
	// the lesson check, before it reports a promised span as missing.
	// A span waits up to FlushInterval in its program, then takes an HTTP
	// post and Jaeger's write; on a laptop that is a few ms, but on a
	// loaded machine (2 cores, load 20) a scheduling pause of several
	// hundred ms is common, and the runner's former 150 ms showed traces
	// that lacked the cleaner's spans. One second is ten flush intervals:
	// the check pays it only when a span is missing (a complete trace
	// returns at once), the runner once, after "Ready".
	Settle = time.Second
)

// WaitHealthy polls url until it answers 200 OK, for up to ReadyTimeout or
// until ctx ends, and fails at once if exited is closed meanwhile (the
// program died: waiting longer shows nothing more).
func WaitHealthy(ctx context.Context, url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	return poll(ctx, exited, func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	})
}

// poll calls ready until it returns nil, exited is closed, ctx ends or
// ReadyTimeout passes: the one rule for waiting until a part is ready.
func poll(ctx context.Context, exited <-chan struct{}, ready func() error) error {
	deadline := time.After(ReadyTimeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before it was ready (%w)", err)
		case <-deadline:
			return fmt.Errorf("not ready after %s: %w", ReadyTimeout, err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(readyPoll):
		}
	}
}

// portAttempts is how many ports StartOnFreePort tries.
const portAttempts = 3

// StartOnFreePort starts a process with start on a port from ports.Free,
// and returns it and the port once it is ready. A port found free can be
// taken before the program binds it (by another process, or an outgoing
// connection); then the program exits saying "address already in use", and
// StartOnFreePort tries another port, up to 3 in all.
func StartOnFreePort(ctx context.Context, name string, start func(port int) (*Process, error)) (*Process, int, error) {
	for attempt := 1; ; attempt++ {
		port, err := ports.Free()
		if err != nil {
			return nil, 0, err
		}
		p, err := start(port)
		switch {
		case err == nil:
			return p, port, nil
		case p == nil || !p.portTaken():
			return nil, 0, err
		case attempt == portAttempts:
			return nil, 0, fmt.Errorf("%s: port %d was taken before it could bind it, as were the %d ports before\n%s",
				name, port, attempt-1, p.LastLines(20))
		}
	}
}

// Listening is a Ready that waits until the process itself holds a socket
// listening on port (on Linux; elsewhere, until something answers there).
func Listening(port int) func(ctx context.Context, p *Process) error {
	return func(ctx context.Context, p *Process) error {
		return poll(ctx, p.Exited(), func() error {
			ok, err := ports.Listening(p.Pid(), port)
			if err == nil && !ok {
				err = errors.New("no socket of its own listens there")
			}
			if ok {
				return nil
			}
			return fmt.Errorf("port %d: %w", port, err)
		})
	}
}
