package e2e

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/redisping"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
)

// wantListening checks that p itself listens on port.
func wantListening(t *testing.T, p *Process, port int) {
	t.Helper()
	if ok, err := ports.Listening(p.Pid(), port); !ok || err != nil {
		t.Errorf("%s is not listening on %d: %v\n%s", p.Name(), port, err, p.Output())
	}
}

func TestStartOnFreePort(t *testing.T) {
	binary, env := listener(t)
	p, port := StartOnFreePort(t, "listener", binary, env, "PORT")
	wantListening(t, p, port)
	if want := fmt.Sprintf("listening on 127.0.0.1:%d", port); !strings.Contains(p.Output(), want) {
		t.Errorf("output %q, want %q", p.Output(), want)
	}
	if _, set := env["PORT"]; set {
		t.Error("StartOnFreePort set PORT in the caller's env")
	}
	// Restart keeps the port.
	p.Restart(t)
	if err := stack.Listening(port)(t.Context(), p.Process); err != nil {
		t.Errorf("after Restart: %v", err)
	}

	// Someone else listening on a port is not the program listening.
	if ok, _ := ports.Listening(p.Pid(), takePort(t)); ok {
		t.Error("listening reports another socket's port as the program's")
	}
}

// TestStartOnFreePortTriesAnotherPort: the port picked was taken before
// the program bound it; the program exits, and starts again on another.
func TestStartOnFreePortTriesAnotherPort(t *testing.T) {
	taken := takePort(t)
	offerPorts(t, taken)
	binary, env := listener(t)
	p, port := StartOnFreePort(t, "listener", binary, env, "PORT")
	if port == taken || !ports.HandedOut(taken) {
		t.Fatalf("StartOnFreePort returned port %d; want it to have tried the taken port %d, then another", port, taken)
	}
	wantListening(t, p, port)
	// The exit on the taken port is no failure of the test's (Start's
	// cleanup would report it).
}

func TestStartOnFreePortGivesUp(t *testing.T) {
	binary, env := listener(t)

	// Every port picked is taken: after 3, the test fails, saying so.
	taken := []int{takePort(t), takePort(t), takePort(t)}
	offerPorts(t, taken...)
	got := failures(t, func(t testing.TB) { StartOnFreePort(t, "listener", binary, env, "PORT") })
	if len(got) != 1 || !strings.Contains(got[0], "was taken before it could bind it, as were the 2 ports before") ||
		!strings.Contains(got[0], "address already in use") {
		t.Errorf("failures %q, want one that says the 3 ports were taken, with the program's output", got)
	}
	for _, port := range taken {
		if !ports.HandedOut(port) {
			t.Errorf("the taken port %d was not tried", port)
		}
	}

	// Any other exit fails at once, with the output, and only once.
	before := ports.HandedOutCount()
	got = failures(t, func(t testing.TB) {
		StartOnFreePort(t, "broken", "/bin/sh", nil, "PORT", "-c", `echo "no config for port $PORT" >&2; exit 2`)
	})
	tried := ports.HandedOutCount() - before
	if len(got) != 1 || !strings.Contains(got[0], "exit status 2") || !strings.Contains(got[0], "no config for port") || tried != 1 {
		t.Errorf("failures %q after %d ports; want one, at once, with the exit and the output", got, tried)
	}
}

// wantOwnRedis checks that the Redis at r.Addr() is r's process.
func wantOwnRedis(t *testing.T, r *RedisServer) {
	t.Helper()
	info, err := redisping.Info(r.Addr(), "server")
	if err != nil {
		t.Fatal(err)
	}
	if pid := r.Pid(); info["process_id"] != strconv.Itoa(pid) || info["tcp_port"] != r.Addr()[strings.LastIndex(r.Addr(), ":")+1:] {
		t.Errorf("the Redis on %s is process %s on port %s, want redis-server %d", r.Addr(), info["process_id"], info["tcp_port"], pid)
	}
}

// otherRedis runs a redis-server on port as another test binary would,
// until the test ends: it answers PING, and INFO with its own process ID.
// Port 0 is a port that FreePort has not handed out (nor would).
func otherRedis(t *testing.T, port int) int {
	t.Helper()
	if port == 0 {
		l := listenFresh(t)
		port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	p := Start(t, "another redis-server", RedisServerPath(t), nil,
		"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	addr := ports.Addr(port)
	for deadline := time.Now().Add(20 * time.Second); redisping.Ping(addr) != nil; time.Sleep(25 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("another redis-server on %d: not ready\n%s", port, p.Output())
		}
	}
	return port
}

// TestRedisTriesAnotherPort: a Redis answers on the port picked before
// redis-server binds it. Its PONG is not taken for the test's Redis: the
// test gets its own, on another port.
func TestRedisTriesAnotherPort(t *testing.T) {
	taken := otherRedis(t, 0)
	offerPorts(t, taken)
	r := Redis(t)
	if r.Addr() == ports.Addr(taken) {
		t.Fatalf("Redis took the other Redis on %s for its own", r.Addr())
	}
	if !ports.HandedOut(taken) {
		t.Fatalf("Redis did not try the taken port %d", taken)
	}
	wantOwnRedis(t, r)
}

// TestRedisRestartOnTakenPort: while the test's Redis is stopped, another
// Redis takes its port. Restart must fail, rather than hand the test the
// other Redis.
func TestRedisRestartOnTakenPort(t *testing.T) {
	r := Redis(t)
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(r.Addr()[strings.LastIndex(r.Addr(), ":")+1:])
	otherRedis(t, port)
	got := failures(t, func(t testing.TB) { r.Restart(t) })
	if len(got) != 1 || !strings.Contains(got[0], "another program took the port") {
		t.Errorf("Restart on a taken port: failures %q, want one that says so", got)
	}
}
