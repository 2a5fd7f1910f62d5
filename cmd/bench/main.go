// Command bench measures what tracing costs step 7, and whether every span
// it creates reaches Jaeger, on loopback against the stand-in GitHub.
//
//	make bench                        # both measurements, about 5 minutes
//	go run ./cmd/bench -rates 100,300 # span delivery at these rates only
//	go run ./cmd/bench -pairs 0       # skip the overhead pairs
//
// Span delivery: for each rate, step 7 serves an open-loop load (requests
// start on time, whatever the answers before them) for -duration; then its
// programs are stopped (SIGTERM flushes their spans) and every request's
// trace is read back from Jaeger's API and its spans counted against the
// spans one request makes.
//
// Overhead: -pairs times, the same load with the tracer and with
// JAEGER_DISABLED=true, alternated so that a noisy machine hurts both
// alike: p50 at -overhead-rate (below saturation), and the throughput of
// -conns closed-loop clients (saturation).
//
// Everything runs on this machine: the load generator competes with the
// programs for the same cores, as docs/benchmarks.md says.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	rates := flag.String("rates", "100,200,300,400,500", "request rates for span delivery (req/s), comma-separated; empty: skip")
	duration := flag.Duration("duration", 15*time.Second, "how long each load runs")
	pairs := flag.Int("pairs", 3, "traced/untraced pairs for the overhead")
	overheadRate := flag.Int("overhead-rate", 100, "request rate (req/s) for the overhead's p50, below saturation")
	conns := flag.Int("conns", 8, "closed-loop clients for the overhead's throughput")
	env := map[string]string{}
	flag.Func("env", "KEY=VALUE added to the programs' environment (repeatable), e.g. JAEGER_REPORTER_MAX_QUEUE_SIZE=100", func(kv string) error {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("want KEY=VALUE, got %q", kv)
		}
		env[key] = value
		return nil
	})
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	step, err := topology.Find(7)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintln(os.Stderr, "building step 7 and Jaeger…")
	b, err := newBench(ctx, step, dir, env)
	if err != nil {
		return err
	}
	defer b.jaegerInst.Stop()

	hostname, _ := os.Hostname()
	fmt.Printf("bench: step 7 on %s, %d cores, %s, %s per run\n", hostname, runtime.NumCPU(), time.Now().UTC().Format("2006-01-02 15:04 MST"), *duration)
	if len(env) > 0 {
		var list []string
		for _, key := range slices.Sorted(maps.Keys(env)) {
			list = append(list, key+"="+env[key])
		}
		fmt.Printf("programs' environment adds: %s\n", strings.Join(list, " "))
	}
	fmt.Println()

	if *rates != "" {
		if err := b.delivery(*rates, *duration); err != nil {
			return err
		}
	}
	if *pairs > 0 {
		if err := b.overhead(*pairs, *overheadRate, *conns, *duration); err != nil {
			return err
		}
	}
	return nil
}

type bench struct {
	ctx        context.Context
	step       topology.Step
	binDir     string // the programs, built by the first start, reused by the next
	jaegerInst *jaeger.Instance
	logs       *proc.Tail
	jaeger     *jaeger.Client
	env        map[string]string // -env, for every start
}

// newBench starts the Jaeger that every run of the bench reports to, and
// reads the traces of every run from after it stopped the programs.
func newBench(ctx context.Context, step topology.Step, binDir string, env map[string]string) (*bench, error) {
	binary, err := jaeger.Binary(ctx, os.Stderr)
	if err != nil {
		return nil, err
	}
	inst, err := jaeger.Start(ctx, binary, jaeger.Options{})
	if err != nil {
		return nil, err
	}
	return &bench{ctx: ctx, step: step, binDir: binDir, jaegerInst: inst, logs: proc.NewTail(64 << 10),
		jaeger: inst.Client(), env: env}, nil
}

// start starts step 7 (its own Redis and stand-in GitHub, the shared
// Jaeger), traced unless disabled, and warms it up: every repository of
// the load once, so that no run measures a cold start. The stand-in
// answers at once (no 202 first): the bench measures our programs, not
// GitHub's statistics being computed.
func (b *bench) start(traced bool) (*stack.Stack, error) {
	env := maps.Clone(b.env)
	env["BAD_THINGS"] = "off" // the bench measures tracing, not step 2's lock
	if !traced {
		env["JAEGER_DISABLED"] = "true"
	}
	s, err := stack.Start(b.ctx, b.step, stack.Options{
		BinDir: b.binDir, Env: env, Drain: true,
		Output: func(string) io.Writer { return b.logs },
		Jaeger: &stack.Jaeger{QueryURL: b.jaegerInst.QueryURL, CollectorEndpoint: b.jaegerInst.CollectorEndpoint, OTLPEndpoint: b.jaegerInst.OTLPEndpoint},
	})
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, b.logs)
	}
	client := newClient(1)
	for _, repo := range repos {
		resp, err := client.Get(s.URL + "/git/" + repo)
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		resp.Body.Close()
	}
	return s, nil
}

// spansPerRequest asks once, alone, and counts the spans of its trace.
func (b *bench) spansPerRequest(p *stack.Stack) (int, error) {
	resp, err := newClient(1).Get(p.URL + "/git/golang/go")
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Trace-Id")
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	// Step 7's trace is whole when all three services have sent theirs;
	// wait a moment more for stragglers, then count.
	trace, err := b.jaeger.WaitForTrace(ctx, id, func(t jaeger.Trace) bool { return len(t.Processes) == 3 })
	if err != nil {
		return 0, err
	}
	time.Sleep(2 * time.Second)
	trace, err = b.jaeger.Trace(ctx, id)
	return len(trace.Spans), err
}

func (b *bench) delivery(rates string, d time.Duration) error {
	fmt.Println("Span delivery (open loop; programs stopped with SIGTERM after each run, then every trace read back):")
	fmt.Println("  rate    sent     ok  throughput      p50       p99   late  spans expected  arrived   lost")
	for _, field := range strings.Split(rates, ",") {
		rate, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || rate <= 0 {
			return fmt.Errorf("-rates: %q is not a rate", field)
		}
		p, err := b.start(true)
		if err != nil {
			return err
		}
		perRequest, err := b.spansPerRequest(p)
		if err != nil {
			p.Stop()
			return fmt.Errorf("counting one request's spans: %w", err)
		}
		res := openLoop(b.ctx, p.URL, rate, d)
		if err := p.Stop(); err != nil {
			return fmt.Errorf("stopping step 7: %w\n%s", err, b.logs)
		}
		arrived, err := b.countSpans(res.traceIDs)
		if err != nil {
			return err
		}
		expected := perRequest * len(res.traceIDs)
		fmt.Printf("  %4d  %6d %6d  %7.1f/s  %8s  %8s  %5d  %14d  %7d  %5d\n",
			rate, res.sent, res.ok, res.throughput(), round(res.percentile(0.5)), round(res.percentile(0.99)),
			res.late, expected, arrived, expected-arrived)
	}
	fmt.Println()
	return nil
}

// countSpans reads every trace back from Jaeger and adds up their spans.
func (b *bench) countSpans(traceIDs []string) (int, error) {
	var total atomic.Int64
	var failed atomic.Int64
	ids := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range ids {
				trace, err := b.jaeger.Trace(b.ctx, id)
				if err != nil && !errors.Is(err, jaeger.ErrNotFound) {
					failed.Add(1)
				}
				total.Add(int64(len(trace.Spans)))
			}
		})
	}
	for _, id := range traceIDs {
		ids <- id
	}
	close(ids)
	wg.Wait()
	if failed.Load() > 0 {
		return 0, fmt.Errorf("reading %d traces from Jaeger failed", failed.Load())
	}
	return int(total.Load()), nil
}

func (b *bench) overhead(pairs, rate, conns int, d time.Duration) error {
	fmt.Printf("Tracing overhead (%d pairs, alternated; p50 at %d req/s open loop; throughput with %d closed-loop clients):\n", pairs, rate, conns)
	fmt.Println("  pair  tracer    p50 @rate   throughput")
	var p50Ratios, throughputRatios []float64
	for i := range pairs {
		var p50, thr [2]float64
		// Alternate which goes first, so that neither always runs on a
		// warmer (or busier) machine.
		order := []bool{true, false}
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, traced := range order {
			p, err := b.start(traced)
			if err != nil {
				return err
			}
			atRate := openLoop(b.ctx, p.URL, rate, d)
			saturated := closedLoop(b.ctx, p.URL, conns, d)
			if err := p.Stop(); err != nil {
				return fmt.Errorf("stopping step 7: %w\n%s", err, b.logs)
			}
			k, name := 1, "off"
			if traced {
				k, name = 0, "on"
			}
			p50[k], thr[k] = float64(atRate.percentile(0.5)), saturated.throughput()
			fmt.Printf("  %4d  %-6s  %10s  %8.1f/s\n", i+1, name, round(atRate.percentile(0.5)), saturated.throughput())
		}
		p50Ratios = append(p50Ratios, p50[0]/p50[1])
		throughputRatios = append(throughputRatios, thr[0]/thr[1])
	}
	fmt.Printf("  traced/untraced, median of %d pairs: p50 ×%.3f (%+.1f%%), throughput ×%.3f (%+.1f%%)\n\n",
		pairs, median(p50Ratios), 100*(median(p50Ratios)-1), median(throughputRatios), 100*(median(throughputRatios)-1))
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(d time.Duration) string {
	if d >= 10*time.Millisecond {
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Microsecond).String()
}
