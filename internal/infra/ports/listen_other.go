//go:build !linux

package ports

import (
	"net"
	"strconv"
	"time"
)

// Listening reports whether something listens on port on 127.0.0.1. Only
// on Linux can the harness tell that it is process pid.
func Listening(pid, port int) (bool, error) {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false, nil
	}
	conn.Close()
	return true, nil
}
