package e2e

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/redisping"
)

// RedisServer is a redis-server that a test started.
type RedisServer struct {
	proc *Process
	addr string
}

// Redis starts a redis-server of the test's own on a free loopback port,
// with no persistence, and returns once that very process is ready: it has
// logged that it accepts connections (which it does once it has bound its
// port), and the Redis answering on its port says it is that process
// (INFO's process_id). Another program's Redis that answers PING on the
// port is not taken for it. When the port was taken before redis-server
// bound it, Redis tries another, up to 3 ports in all. The server is
// stopped when the test ends. Without redis-server the test says NOT RUN
// (see RedisServerPath).
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	binary := RedisServerPath(t)
	dir := t.TempDir()
	p, port := onFreePort(t, "redis-server", func(port int) *Process {
		return Start(t, "redis-server", binary, nil,
			"--bind", "127.0.0.1", "--port", strconv.Itoa(port),
			"--save", "", "--appendonly", "no", "--dir", dir)
	}, func(p *Process, port int) error {
		return redisReady(p, redisAddr(port))
	})
	return &RedisServer{proc: p, addr: redisAddr(port)}
}

func redisAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// Addr returns the server's host:port, what REDIS_ADDR takes.
func (r *RedisServer) Addr() string { return r.addr }

// Stop shuts the server down (SIGTERM), to test what a program does
// without Redis.
func (r *RedisServer) Stop() error { return r.proc.Stop() }

// Kill kills the server (SIGKILL), as a crash would.
func (r *RedisServer) Kill() { r.proc.Kill() }

// Restart starts the server again on the same port, empty, to test that a
// program recovers; it returns once the new process is ready, as Redis
// does. The test fails if another program took the port meanwhile.
func (r *RedisServer) Restart(t testing.TB) {
	t.Helper()
	r.proc.Restart(t)
	if err := redisReady(r.proc, r.addr); err != nil {
		if r.proc.portTaken() {
			t.Fatalf("e2e: redis-server could not bind %s again: another program took the port while it was stopped\n%s",
				r.addr, r.proc.lastLines())
		}
		r.proc.exitReported()
		t.Fatalf("e2e: restarting redis-server: %v\n%s", err, r.proc.lastLines())
	}
}

// Output returns what redis-server logged.
func (r *RedisServer) Output() string { return r.proc.Output() }

// errNotOwn is the error of a Redis on the port that is not the test's.
var errNotOwn = errors.New("not the test's own redis-server")

// redisReady waits up to 20 seconds until the latest start of p, a
// redis-server, has logged that it is ready to accept connections, and the
// Redis at addr says it is that process.
func redisReady(p *Process, addr string) error {
	r := p.current()
	deadline := time.After(healthyTimeout)
	err := errors.New("it has not logged that it is ready")
	for {
		if strings.Contains(p.runOutput(), "Ready to accept connections") {
			if err = ownRedis(addr, r.Pid()); err == nil || errors.Is(err, errNotOwn) {
				return err
			}
		}
		select {
		case <-r.Exited():
			return fmt.Errorf("exited (%v)", r.Err())
		case <-deadline:
			return fmt.Errorf("not ready on %s after %s: %w", addr, healthyTimeout, err)
		case <-time.After(healthyPoll):
		}
	}
}

// ownRedis checks that the Redis at addr is process pid.
func ownRedis(addr string, pid int) error {
	info, err := redisping.Info(addr, "server")
	if err != nil {
		return err
	}
	if info["process_id"] != strconv.Itoa(pid) {
		return fmt.Errorf("%w: the Redis on %s is process %q, the test's redis-server %d", errNotOwn, addr, info["process_id"], pid)
	}
	return nil
}
