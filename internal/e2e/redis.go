package e2e

import (
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/proc"
	"github.com/tracing-tutorial/tutorial/internal/redisping"
)

// RedisServer is a redis-server that a test started.
type RedisServer struct {
	proc *Process
	addr string
}

// Redis starts a redis-server of the test's own on a free loopback port,
// with no persistence, and returns once it answers PING. It is stopped
// when the test ends.
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	binary, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: run `make test`, which installs it, or `apt-get install redis-server`")
	}
	port := FreePort(t)
	r := &RedisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	r.proc = Start(t, "redis-server", binary, nil,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	r.waitReady(t)
	return r
}

// Addr returns the server's host:port, what REDIS_ADDR takes.
func (r *RedisServer) Addr() string { return r.addr }

// Stop shuts the server down (SIGTERM), to test what a program does
// without Redis.
func (r *RedisServer) Stop() error { return r.proc.Stop() }

// Kill kills the server (SIGKILL), as a crash would.
func (r *RedisServer) Kill() { r.proc.Kill() }

// Restart starts the server again on the same port, empty, to test that a
// program recovers; it returns once the server answers PING.
func (r *RedisServer) Restart(t testing.TB) {
	t.Helper()
	r.proc.Restart(t)
	r.waitReady(t)
}

// Output returns what redis-server logged.
func (r *RedisServer) Output() string { return r.proc.Output() }

func (r *RedisServer) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.After(healthyTimeout)
	for {
		err := redisping.Ping(r.addr)
		if err == nil {
			return
		}
		select {
		case <-r.proc.Exited():
			t.Fatalf("e2e: redis-server exited:\n%s", proc.LastLines(r.Output(), 20))
		case <-deadline:
			t.Fatalf("e2e: redis-server on %s not ready after %s: %v\n%s", r.addr, healthyTimeout, err, proc.LastLines(r.Output(), 20))
		case <-time.After(healthyPoll):
		}
	}
}
