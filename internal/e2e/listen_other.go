//go:build !linux

package e2e

import (
	"net"
	"strconv"
	"time"
)

// listening reports whether something listens on port on 127.0.0.1. Only
// on Linux can the harness tell that it is process pid.
func listening(pid, port int) (bool, error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false, nil
	}
	conn.Close()
	return true, nil
}
