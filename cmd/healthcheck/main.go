// Command healthcheck is the health probe of the tutorial's container images.
// They are distroless (no shell, no curl, no wget), so docker compose runs
// this instead:
//
//	/healthcheck http://127.0.0.1:8000/healthz
//	/healthcheck -status 404 http://127.0.0.1:9090/
//
// It GETs the URL and exits 0 when the answer has the expected status (any
// 2xx by default), 1 otherwise: on an error, a timeout or another status.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	status := flag.Int("status", 0, "the status code that means healthy (0: any 2xx)")
	timeout := flag.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: healthcheck [-status code] [-timeout d] URL")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := check(flag.Arg(0), *status, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "unhealthy:", err)
		os.Exit(1)
	}
}

// check GETs url and reports whether it answered with want (any 2xx if want
// is 0) within timeout.
func check(url string, want int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	ok := resp.StatusCode == want
	if want == 0 {
		ok = resp.StatusCode >= 200 && resp.StatusCode < 300
	}
	if !ok {
		if want == 0 {
			return fmt.Errorf("GET %s: %s, want a 2xx", url, resp.Status)
		}
		return fmt.Errorf("GET %s: %s, want %d", url, resp.Status, want)
	}
	return nil
}
