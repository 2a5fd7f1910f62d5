// Package redisping asks a Redis whether it is ready, and which process
// it is, with no client library: the tests and the runner start a
// redis-server and wait for it.
package redisping

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Ping sends Redis at addr (host:port) a PING in RESP, its wire protocol,
// and expects +PONG. Redis answers -LOADING while it is not ready. Each of
// dialing and the exchange may take a second.
func Ping(addr string) error {
	reply, err := command(addr, "PING")
	if err != nil {
		return err
	}
	if reply != "+PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// Info sends Redis at addr an INFO for section ("server", say) and
// returns its fields: "process_id", "run_id", "tcp_port"... Each of
// dialing and the exchange may take a second.
func Info(addr, section string) (map[string]string, error) {
	reply, err := command(addr, "INFO", section)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(reply, "$") {
		return nil, fmt.Errorf("INFO %s answered %q", section, reply)
	}
	fields := map[string]string{}
	for line := range strings.Lines(reply[1:]) {
		if key, value, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":"); ok {
			fields[key] = value
		}
	}
	return fields, nil
}

// command sends args as a RESP array and returns the reply: a simple
// string or error as its line ("+PONG", "-LOADING ..."), a bulk string as
// "$" and its contents.
func command(addr string, args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "*%d\r\n", len(args))
	for _, arg := range args {
		fmt.Fprintf(&req, "$%d\r\n%s\r\n", len(arg), arg)
	}
	if _, err := io.WriteString(conn, req.String()); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "$") {
		return line, nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 {
		return "", fmt.Errorf("%s answered %q", args[0], line)
	}
	body := make([]byte, n+2) // and its \r\n
	if _, err := io.ReadFull(r, body); err != nil {
		return "", err
	}
	return "$" + string(body[:n]), nil
}
