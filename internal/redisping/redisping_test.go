package redisping

import (
	"bufio"
	"net"
	"strings"
	"testing"
)

// fakeRedis answers each connection's first command with answer.
func fakeRedis(t *testing.T, answer string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(conn)
			for range 3 { // *1, $4, PING
				if _, err := r.ReadString('\n'); err != nil {
					break
				}
			}
			conn.Write([]byte(answer))
			conn.Close()
		}
	}()
	return l.Addr().String()
}

func TestPing(t *testing.T) {
	if err := Ping(fakeRedis(t, "+PONG\r\n")); err != nil {
		t.Errorf("Ping of a ready Redis: %v", err)
	}
	err := Ping(fakeRedis(t, "-LOADING Redis is loading the dataset in memory\r\n"))
	if err == nil || !strings.Contains(err.Error(), "LOADING") {
		t.Errorf("Ping of a loading Redis = %v, want its answer", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if err := Ping(addr); err == nil {
		t.Error("Ping with nothing listening succeeded")
	}
}
