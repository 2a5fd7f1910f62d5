package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// result is what one load run measured.
type result struct {
	sent, ok int
	elapsed  time.Duration
	latency  []time.Duration // of the successful requests, sorted
	traceIDs []string        // X-Trace-Id of the successful requests
	late     int             // requests that could not start on time (open loop only)
}

func (r result) throughput() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func (r result) percentile(p float64) time.Duration {
	if len(r.latency) == 0 {
		return 0
	}
	return r.latency[min(len(r.latency)-1, int(p*float64(len(r.latency))))]
}

// repos is what the load asks for: a few repositories, as a real mix would.
var repos = []string{"golang/go", "torvalds/linux", "redis/redis", "jaegertracing/jaeger", "kubernetes/kubernetes"}

// recorder gathers the outcome of each request.
type recorder struct {
	mu  sync.Mutex
	res result
}

func (rec *recorder) do(client *http.Client, base string, i int) {
	start := time.Now()
	resp, err := client.Get(base + "/git/" + repos[i%len(repos)])
	if err != nil {
		rec.add(false, 0, "")
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rec.add(resp.StatusCode == http.StatusOK, time.Since(start), resp.Header.Get("X-Trace-Id"))
}

func (rec *recorder) add(ok bool, latency time.Duration, traceID string) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.res.sent++
	if ok {
		rec.res.ok++
		rec.res.latency = append(rec.res.latency, latency)
		if traceID != "" {
			rec.res.traceIDs = append(rec.res.traceIDs, traceID)
		}
	}
}

func (rec *recorder) result(elapsed time.Duration) result {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	res := rec.res
	res.elapsed = elapsed
	slices.Sort(res.latency)
	return res
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns},
	}
}

// openLoop sends rate requests a second for d, each on time whatever the
// answers before it (as users do), with at most 256 in flight. A request
// that cannot start on time because 256 are in flight counts as late: the
// programs did not keep up with the rate.
func openLoop(ctx context.Context, base string, rate int, d time.Duration) result {
	const maxInFlight = 256
	client := newClient(maxInFlight)
	rec := &recorder{}
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	late := 0
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * interval)
		if next.Sub(start) >= d || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Until(next))
		select {
		case slots <- struct{}{}:
		default:
			late++
			slots <- struct{}{}
		}
		wg.Go(func() {
			defer func() { <-slots }()
			rec.do(client, base, i)
		})
	}
	wg.Wait()
	res := rec.result(time.Since(start))
	res.late = late
	return res
}

// closedLoop runs conns clients that each send their next request as soon
// as the last one is answered, for d: the most the programs can do.
func closedLoop(ctx context.Context, base string, conns int, d time.Duration) result {
	client := newClient(conns)
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var counter sync.Mutex
	n := 0
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				counter.Lock()
				i := n
				n++
				counter.Unlock()
				rec.do(client, base, i)
			}
		})
	}
	wg.Wait()
	return rec.result(time.Since(start))
}

func (r result) String() string {
	return fmt.Sprintf("%6d sent %6d ok %8.1f req/s  p50 %8s  p99 %8s",
		r.sent, r.ok, r.throughput(), r.percentile(0.50).Round(10*time.Microsecond), r.percentile(0.99).Round(10*time.Microsecond))
}
