package jaeger

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Step 12's sampling experiment: a fixed load with known slow and failed
// requests, sent to a step's gateway, and a count of the requests whose
// trace Jaeger has. The stand-in GitHub makes a request slow (its slow/
// owner, with a delay under the contributors service's GitHub timeout) or
// failed (its broken/ owner: GitHub's 500, our 502).

// Load is a fixed mix of requests.
type Load struct {
	Normal, Slow, Failed int
	// Concurrency is how many requests are in flight at once.
	Concurrency int
}

// Request kinds.
const (
	Normal = "normal"
	Slow   = "slow"
	Failed = "failed"
)

// Sent is one request of a load and what became of it.
type Sent struct {
	Kind    string // Normal, Slow, Failed
	Path    string
	Status  int
	Took    time.Duration
	Done    time.Time // when its answer came
	TraceID string    // its X-Trace-Id: "" if its trace was not sampled
}

// SendLoad sends load to the gateway at baseURL, each request for a
// repository of its own (nothing cached), in an order fixed by seed, and
// returns them as they were sent. It fails only if the gateway cannot be
// reached.
func SendLoad(ctx context.Context, baseURL string, load Load, seed uint64) ([]Sent, error) {
	run := fmt.Sprintf("%08x", rand.Uint32()) // a repository a run
	var sent []Sent
	for kind, n := range map[string]int{Normal: load.Normal, Slow: load.Slow, Failed: load.Failed} {
		owner := map[string]string{Normal: "sampling", Slow: "slow", Failed: "broken"}[kind]
		for i := range n {
			sent = append(sent, Sent{Kind: kind, Path: fmt.Sprintf("/git/%s/load-%s-%d", owner, run, i)})
		}
	}
	slices.SortFunc(sent, func(a, b Sent) int { return cmp.Compare(a.Path, b.Path) })
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(sent), func(i, j int) { sent[i], sent[j] = sent[j], sent[i] })

	client := &http.Client{Timeout: 60 * time.Second}
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range max(1, load.Concurrency) {
		wg.Go(func() {
			for i := range work {
				s := &sent[i]
				start := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+s.Path, nil)
				if err == nil {
					var resp *http.Response
					if resp, err = client.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						s.Status, s.TraceID = resp.StatusCode, resp.Header.Get("X-Trace-Id")
					}
				}
				s.Took, s.Done = time.Since(start), time.Now()
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range sent {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	if len(errs) > 0 {
		return sent, fmt.Errorf("%d of %d requests got no answer: %w", len(errs), len(sent), errors.Join(errs[:1]...))
	}
	return sent, ctx.Err()
}

// Counts is how many requests of each kind were sent and how many have a
// trace in Jaeger.
type Counts struct {
	Sent, Traced map[string]int // by kind
	// Partial is how many traces found lack a service: none, if
	// sampling keeps traces whole.
	Partial int
	// Spans is how many spans the traces found hold.
	Spans int
}

// String is the counts in a line: "failed 10/10, slow 10/10, normal 9/100".
func (c Counts) String() string {
	return fmt.Sprintf("failed %d/%d, slow %d/%d, normal %d/%d", c.Traced[Failed], c.Sent[Failed],
		c.Traced[Slow], c.Sent[Slow], c.Traced[Normal], c.Sent[Normal])
}

// CountTraced looks for the trace of each request in sent until it
// appears, or within has passed since the last answer (time enough for
// the tail sampler's decision_wait and the collector's batch), and
// counts them. A trace is whole if it has a span of each of services.
func CountTraced(ctx context.Context, client *Client, sent []Sent, within time.Duration, services ...string) Counts {
	c := Counts{Sent: map[string]int{}, Traced: map[string]int{}}
	last := time.Time{}
	pending := map[int]bool{}
	for i, s := range sent {
		c.Sent[s.Kind]++
		if s.Done.After(last) {
			last = s.Done
		}
		if s.TraceID != "" { // not sampled at the head: no trace, anywhere
			pending[i] = true
		}
	}
	deadline := last.Add(within)
	var found []int
	for len(pending) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		for _, i := range slices.Sorted(maps.Keys(pending)) {
			if _, err := client.Trace(ctx, sent[i].TraceID); err != nil {
				continue
			}
			delete(pending, i)
			found = append(found, i)
			c.Traced[sent[i].Kind]++
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Each trace as it is once all have appeared: its last spans may
	// have come after its first.
	for _, i := range found {
		trace, err := client.Trace(ctx, sent[i].TraceID)
		c.Spans += len(trace.Spans)
		have := map[string]bool{}
		for _, span := range trace.Spans {
			have[trace.ServiceName(span)] = true
		}
		for _, service := range services {
			if err != nil || !have[service] {
				c.Partial++
				break
			}
		}
	}
	return c
}

// TraceDelay sends one failed request (a trace that every sampler this
// experiment tries keeps) to the gateway at baseURL and returns how long
// after its answer its trace appeared in Jaeger: the programs' batch, the
// collector's (and the tail sampler's decision_wait), storage's write.
func TraceDelay(ctx context.Context, baseURL string, client *Client, within time.Duration) (time.Duration, error) {
	sent, err := SendLoad(ctx, baseURL, Load{Failed: 1}, 0)
	if err != nil {
		return 0, err
	}
	if sent[0].TraceID == "" {
		return 0, errors.New("the request was not sampled: no X-Trace-Id")
	}
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if _, err := client.WaitForTrace(ctx, sent[0].TraceID, func(Trace) bool { return true }); err != nil {
		return 0, err
	}
	return time.Since(sent[0].Done), nil
}
