package jaeger_test

// Step 12's lesson, end to end and measured: step 12's programs, against
// Jaeger's roles, under a fixed load with known slow and failed requests;
// how many of those leave a trace with head sampling at 10%, with tail
// sampling, with everything sampled. The figures go in step 12's README:
//
//	nice go test ./internal/infra/jaeger -run TestSamplingExperiment -v

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

const (
	step11Config = "../../../step11-jaeger-architecture/jaeger" // no tail sampling
	step12Config = "../../../step12-sampling/jaeger"            // tail sampling, remote sampling
	step12       = "../../../step12-sampling"
)

// load is the experiment's fixed load: a request in six slow or failed,
// as a bad hour would have it.
var load = jaeger.Load{Normal: 100, Slow: 10, Failed: 10, Concurrency: 8}

// slowDelay is how long the stand-in GitHub takes for a slow request:
// over the tail sampler's threshold (1 s), under the contributors
// service's GitHub timeout (10 s), so slow and not failed.
const slowDelay = 1500 * time.Millisecond

// decisionWait is the tail sampler's, shorter than the step's 5 s to keep
// the test short.
const decisionWait = "2s"

// experiment runs step 12's programs against Jaeger's roles from
// configDir, with the programs' environment env, calls change (if any)
// once they run, sends the load, and counts the slow and failed requests'
// traces in Jaeger.
func experiment(t *testing.T, configDir string, env map[string]string, change func(gateway string)) jaeger.Counts {
	t.Helper()
	binary, err := jaeger.ForChecks(t.Context(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := jaeger.StartRoles(t.Context(), binary, jaeger.RolesOptions{
		ConfigDir: configDir, Env: append(os.Environ(), "TAIL_DECISION_WAIT="+decisionWait),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the collector's log ends:\n%s", proc.LastLines(roles.Collector.Log(), 20))
		}
		roles.Stop()
	})
	_, github := e2e.GitHub(t, fakegithub.Options{SlowDelay: slowDelay})
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = roles.OTLPEndpoint
	if env["OTEL_TRACES_SAMPLER"] == "parentbased_jaeger_remote" {
		env["OTEL_TRACES_SAMPLER_ARG"] = "endpoint=" + roles.SamplingURL + ",pollingIntervalMs=5000,initialSamplingRate=1"
	}
	stack, problems := stepsuite.Start(t, 12, step12, stepsuite.Options{Env: env, GitHubURL: github})
	if problems != nil {
		t.Fatal(problems)
	}
	if change != nil {
		change(stack.URL)
	}
	sent, err := jaeger.SendLoad(t.Context(), stack.URL, load, 12)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sent {
		if s.Kind == jaeger.Slow && (s.Status != 200 || s.Took < slowDelay) || s.Kind == jaeger.Failed && s.Status < 500 || s.Kind == jaeger.Normal && s.Status != 200 {
			t.Fatalf("a %s request, %s: %d in %s; the load is not what the experiment says", s.Kind, s.Path, s.Status, s.Took)
		}
	}
	// The tail sampler's decision_wait, the collector's batch, the
	// programs' batch (100 ms), storage's write: well within 15 s.
	counts := jaeger.CountTraced(t.Context(), roles.Client(), sent, 15*time.Second, "gateway", "contributors")
	t.Logf("%s: traced %s; %d partial; %d spans stored", t.Name(), counts, counts.Partial, counts.Spans)
	if counts.Partial > 0 {
		t.Errorf("%d traces lack the gateway's or the contributors service's spans: sampling must keep a trace whole", counts.Partial)
	}
	if env["OTEL_TRACES_SAMPLER"] != "parentbased_traceidratio" && change == nil { // every failed request is kept
		var delays []time.Duration
		for range 5 {
			d, err := jaeger.TraceDelay(t.Context(), stack.URL, roles.Client(), 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			delays = append(delays, d)
		}
		slices.Sort(delays)
		t.Logf("%s: a failed request's trace appeared %s after its answer (median of 5; %s to %s)", t.Name(),
			delays[2].Round(10*time.Millisecond), delays[0].Round(10*time.Millisecond), delays[4].Round(10*time.Millisecond))
	}
	return counts
}

// TestSamplingExperiment: for the fixed load, tail sampling keeps the
// trace of every failed and every slow request (and about a tenth of the
// rest), head sampling at 10% misses most of them, everything sampled
// keeps all, at the cost of every normal trace too.
func TestSamplingExperiment(t *testing.T) {
	if testing.Short() {
		t.Skip("three runs of step 12's programs against Jaeger's roles")
	}
	interesting := load.Slow + load.Failed
	t.Run("head 10%", func(t *testing.T) {
		c := experiment(t, step11Config, map[string]string{
			"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1",
		}, nil)
		// At 10%, 20 requests: more than 10 traced has odds under 1 in 100,000.
		if kept := c.Traced[jaeger.Slow] + c.Traced[jaeger.Failed]; kept*2 > interesting {
			t.Errorf("head sampling at 10%% kept %d of the %d slow and failed requests' traces, want most missed", kept, interesting)
		}
	})
	t.Run("tail", func(t *testing.T) {
		c := experiment(t, step12Config, map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_jaeger_remote"}, nil)
		if c.Traced[jaeger.Slow] != load.Slow || c.Traced[jaeger.Failed] != load.Failed {
			t.Errorf("tail sampling kept %s: want every slow and every failed request's trace", c)
		}
		// 10% of 100 normal ones: more than 30 has odds under 1 in 100,000.
		if c.Traced[jaeger.Normal] > 30 {
			t.Errorf("tail sampling kept %d of the %d normal requests' traces, want about a tenth", c.Traced[jaeger.Normal], load.Normal)
		}
	})
	t.Run("remote head 10%, changed while running", func(t *testing.T) {
		// strategies.json says 1 as the programs start, then 0.1 for the
		// gateway: the collector reads the file again, the programs ask
		// again (every 5 s), nothing restarts.
		dir := t.TempDir()
		for _, name := range []string{"storage.yaml", "collector.yaml", "query.yaml", "strategies.json"} {
			data, err := os.ReadFile(filepath.Join(step12Config, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c := experiment(t, dir, map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_jaeger_remote"}, func(gateway string) {
			// Before the change: every request sampled.
			before, err := jaeger.SendLoad(t.Context(), gateway, jaeger.Load{Normal: 10, Concurrency: 2}, 1)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range before {
				if s.TraceID == "" {
					t.Fatalf("strategies.json says 1, and %s was not sampled", s.Path)
				}
			}
			strategies := `{"default_strategy": {"type": "probabilistic", "param": 1},
			  "service_strategies": [{"service": "gateway", "type": "probabilistic", "param": 0.1}]}`
			if err := os.WriteFile(filepath.Join(dir, "strategies.json"), []byte(strategies), 0o644); err != nil {
				t.Fatal(err)
			}
			time.Sleep(8 * time.Second) // the collector's reload (1 s), the programs' poll (5 s)
		})
		if kept := c.Traced[jaeger.Slow] + c.Traced[jaeger.Failed]; kept*2 > interesting {
			t.Errorf("with the gateway's strategy at 0.1, %d of the %d slow and failed requests were traced, want most not sampled at the head", kept, interesting)
		}
	})
	t.Run("everything", func(t *testing.T) {
		c := experiment(t, step11Config, map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_always_on"}, nil)
		if c.Traced[jaeger.Slow] != load.Slow || c.Traced[jaeger.Failed] != load.Failed || c.Traced[jaeger.Normal] != load.Normal {
			t.Errorf("everything sampled kept %s, want every trace", c)
		}
	})
}
