package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/proc"
)

const (
	healthyTimeout = 20 * time.Second
	healthyPoll    = 25 * time.Millisecond
)

// WaitHealthy polls url until it answers 200 OK, for up to 20 seconds.
func WaitHealthy(t testing.TB, url string) {
	t.Helper()
	if err := waitHealthy(url, nil); err != nil {
		t.Fatalf("e2e: %v", err)
	}
}

// WaitHealthy polls url until it answers 200 OK, for up to 20 seconds, and
// fails at once, showing the output, if the process exits meanwhile.
func (p *Process) WaitHealthy(t testing.TB, url string) {
	t.Helper()
	if err := waitHealthy(url, p.Exited()); err != nil {
		t.Fatalf("e2e: %s: %v\n%s", p.name, err, proc.LastLines(p.Output(), 30))
	}
}

func waitHealthy(url string, exited <-chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.After(healthyTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before %s answered 200", url)
		case <-deadline:
			return fmt.Errorf("%s not healthy after %s: %w", url, healthyTimeout, err)
		case <-time.After(healthyPoll):
		}
	}
}
