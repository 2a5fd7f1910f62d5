// Package redisping asks a Redis whether it is ready, with no client
// library: the tests and the runner start a redis-server and wait for it.
package redisping

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"time"
)

// Ping sends Redis at addr (host:port) a PING in RESP, its wire protocol,
// and expects +PONG. Redis answers -LOADING while it is not ready. Each of
// dialing and the exchange may take a second.
func Ping(addr string) error {
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
