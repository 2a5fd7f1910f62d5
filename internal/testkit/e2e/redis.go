package e2e

import (
	"testing"

	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

// RedisServer is a redis-server that a test started (stack.Redis), whose
// Restart, Pause and Resume fail the test instead of returning errors.
type RedisServer struct{ *stack.Redis }

// Redis starts a redis-server of the test's own on a free loopback port
// (stack.StartRedis: that very process, not another program's Redis on
// the port), stopped when the test ends. Without redis-server the test
// says NOT RUN (see RedisServerPath).
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	RedisServerPath(t)
	binDir(t)
	r, err := stack.StartRedis(t.Context(), 0, nil)
	if err != nil {
		t.Fatalf("e2e: %v", err)
	}
	Managed(t, r.Process)
	t.Cleanup(func() { r.Close() })
	return &RedisServer{r}
}

// Restart starts the server again on the same port, empty, to test that a
// program recovers; the test fails if another program took the port
// meanwhile.
func (r *RedisServer) Restart(t testing.TB) {
	t.Helper()
	if err := r.Redis.Restart(t.Context()); err != nil {
		t.Fatalf("e2e: %v", err)
	}
}

// Pause makes the server hang (SIGSTOP): connections open, no answers.
func (r *RedisServer) Pause(t testing.TB) { t.Helper(); (&Process{r.Process}).Pause(t) }

// Resume lets a paused server answer again.
func (r *RedisServer) Resume(t testing.TB) { t.Helper(); (&Process{r.Process}).Resume(t) }
