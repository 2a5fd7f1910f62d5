package ports

import (
	"net"
	"sync"
	"testing"
)

func TestFreeNeverRepeats(t *testing.T) {
	// The kernel offers a port again once it is free: Free must not.
	first, err := Free()
	if err != nil {
		t.Fatal(err)
	}
	asked := offerPorts(t, first, first, first)
	if port, err := Free(); err != nil || port == first || asked() < 4 {
		t.Errorf("Free = %d, %v after %d offers; want a port other than %d, after the three offers of it", port, err, asked(), first)
	}

	// In earnest, from goroutines at once: without the check, a few
	// hundred ports from the kernel repeat some.
	seen := map[int]bool{first: true}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				port, err := Free()
				mu.Lock()
				if err != nil || seen[port] {
					t.Errorf("Free = %d, %v: handed out twice, or no port", port, err)
				}
				seen[port] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestInUse(t *testing.T) {
	l, err := net.Listen("tcp", Loopback+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if InUse(l.Addr().(*net.TCPAddr).Port, false) == nil {
		t.Error("InUse says a port we listen on is free")
	}
	port, err := Free()
	if err != nil {
		t.Fatal(err)
	}
	if err := InUse(port, false); err != nil {
		t.Errorf("InUse(%d) = %v for a free port", port, err)
	}
}

// offerPorts is Offer until the test ends.
func offerPorts(t *testing.T, offers ...int) func() int {
	asked, restore := Offer(offers...)
	t.Cleanup(restore)
	return asked
}
