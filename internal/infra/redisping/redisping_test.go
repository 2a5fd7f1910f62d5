package redisping

import (
	"bufio"
	"net"
	"strconv"
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
			// *N, then a length line and an argument line per argument.
			header, _ := r.ReadString('\n')
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(header, "*")))
			for range 2 * n {
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

func TestInfo(t *testing.T) {
	body := "# Server\r\nredis_version:7.0.15\r\nprocess_id:4242\r\nrun_id:abc\r\n"
	info, err := Info(fakeRedis(t, "$"+strconv.Itoa(len(body))+"\r\n"+body+"\r\n"), "server")
	if err != nil {
		t.Fatal(err)
	}
	if info["process_id"] != "4242" || info["run_id"] != "abc" || info["redis_version"] != "7.0.15" {
		t.Errorf("Info = %v, want the fields of the answer", info)
	}
	if _, err := Info(fakeRedis(t, "-LOADING Redis is loading the dataset in memory\r\n"), "server"); err == nil || !strings.Contains(err.Error(), "LOADING") {
		t.Errorf("Info of a loading Redis = %v, want its answer", err)
	}
	if _, err := Info(fakeRedis(t, "$100\r\nshort\r\n"), "server"); err == nil {
		t.Error("Info of a cut-off answer succeeded")
	}
}
