package ports

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Listening reports whether process pid itself holds a TCP socket that
// listens on port, on any address: not merely whether something answers
// there, which may be another program that took the port first.
func Listening(pid, port int) (bool, error) {
	sockets := map[string]bool{} // "socket:[inode]", as /proc/PID/fd links read
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if os.IsNotExist(err) && table == "/proc/net/tcp6" {
			continue // no IPv6
		}
		if err != nil {
			return false, err
		}
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
		for line := range strings.Lines(string(data)) {
			fields := strings.Fields(line)
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN (and skips the header)
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseUint(hexPort, 16, 16); err == nil && int(p) == port {
				sockets["socket:["+fields[9]+"]"] = true
			}
		}
	}
	if len(sockets) == 0 {
		return false, nil
	}
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, fd := range fds {
		if link, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && sockets[link] {
			return true, nil
		}
	}
	return false, nil
}
