package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
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
		err := ping(r.addr)
		if err == nil {
			return
		}
		select {
		case <-r.proc.Exited():
			t.Fatalf("e2e: redis-server exited:\n%s", lastLines(r.Output(), 20))
		case <-deadline:
			t.Fatalf("e2e: redis-server on %s not ready after %s: %v\n%s", r.addr, healthyTimeout, err, lastLines(r.Output(), 20))
		case <-time.After(healthyPoll):
		}
	}
}

// ping sends Redis a PING in RESP, its wire protocol, and expects +PONG. It
// answers -LOADING while it is not ready.
func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
