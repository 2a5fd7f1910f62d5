// Package ports finds free loopback ports for the tutorial's parts: the
// one place that does, for the runner, make check, make bench, the tests
// and Jaeger.
package ports

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
)

// Loopback is where everything the tutorial starts listens: never the
// meetup's Wi-Fi.
const Loopback = "127.0.0.1"

// given are the ports Free handed out in this process.
var given struct {
	mu    sync.Mutex
	ports map[int]bool
}

// Free returns a TCP port that is free on 127.0.0.1 right now, and that
// Free has not returned before in this process: nobody gets the port of
// another's stopped program (which may be started again on it) or of an
// "unreachable" service. The port can still be taken before the caller's
// program binds it, by another process or an outgoing connection; the
// caller tries another port then (stack does).
func Free() (int, error) {
	given.mu.Lock()
	defer given.mu.Unlock()
	// Each port the kernel offers stays bound until Free returns, so that
	// it offers another one next time.
	var releases []func()
	defer func() {
		for _, release := range releases {
			release()
		}
	}()
	for range 100 {
		port, release, err := kernelPort()
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		releases = append(releases, release)
		if !given.ports[port] {
			if given.ports == nil {
				given.ports = map[int]bool{}
			}
			given.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("finding a free port: the kernel offered 100 ports in a row that were handed out before")
}

// FreeN returns n distinct ports from Free.
func FreeN(n int) ([]int, error) {
	var list []int
	for range n {
		port, err := Free()
		if err != nil {
			return nil, err
		}
		list = append(list, port)
	}
	return list, nil
}

// kernelPort asks the kernel for a port free on 127.0.0.1, and holds it
// until release is called. (A variable for the tests, which set it while
// given.mu is held.)
var kernelPort = func() (port int, release func(), err error) {
	l, err := net.Listen("tcp", Loopback+":0")
	if err != nil {
		return 0, nil, err
	}
	return l.Addr().(*net.TCPAddr).Port, func() { l.Close() }, nil
}

// InUse returns an error if port is taken on 127.0.0.1 (TCP, or UDP when
// udp is set), nil if it is free now.
func InUse(port int, udp bool) error {
	addr := Addr(port)
	if udp {
		c, err := net.ListenPacket("udp", addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	l, err := net.Listen("tcp", addr)
	if err == nil {
		l.Close()
	}
	return err
}

// Addr is "127.0.0.1:port".
func Addr(port int) string { return net.JoinHostPort(Loopback, strconv.Itoa(port)) }

// HandedOut reports whether Free has handed port out.
func HandedOut(port int) bool {
	given.mu.Lock()
	defer given.mu.Unlock()
	return given.ports[port]
}

// HandedOutCount returns how many ports Free has handed out.
func HandedOutCount() int {
	given.mu.Lock()
	defer given.mu.Unlock()
	return len(given.ports)
}

// Offer makes Free take each of offers first, as if the kernel offered
// them, then ask the kernel again; restore undoes it. It is for tests of
// what a caller does when a port is taken before its program binds it.
// asked returns how many ports Free asked for since.
func Offer(offers ...int) (asked func() int, restore func()) {
	var n int
	given.mu.Lock()
	kernel := kernelPort
	kernelPort = func() (int, func(), error) {
		n++
		if len(offers) > 0 {
			port := offers[0]
			offers = offers[1:]
			return port, func() {}, nil
		}
		return kernel()
	}
	given.mu.Unlock()
	return func() int {
			given.mu.Lock()
			defer given.mu.Unlock()
			return n
		}, func() {
			given.mu.Lock()
			kernelPort = kernel
			given.mu.Unlock()
		}
}
