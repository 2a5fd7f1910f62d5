// Package topology describes what each step runs and how its parts are
// wired: the programs, their ports and their environment. The native runner
// (make run) starts exactly this, and a test holds docker-compose.yml to it,
// so the two ways of running a step cannot drift apart.
package topology

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The parts every step may use besides its own programs. Env values name
// them in braces, "{redis}", and a runner puts in the address it gives them:
// "127.0.0.1:6379" natively, "redis:6379" in docker compose.
const (
	Redis           = "redis"            // host:port of redis-server
	JaegerCollector = "jaeger-collector" // host:port of Jaeger's thrift HTTP collector
	JaegerOTLP      = "jaeger-otlp"      // host:port of Jaeger's OTLP/HTTP receiver (steps 9 on: OpenTelemetry's SDK)
	JaegerSampling  = "jaeger-sampling"  // host:port of the collector's remote sampling strategies (step 12 on)
	GitHub          = "github"           // host:port of the stand-in GitHub
)

// Program is one program of a step.
type Program struct {
	// Service is its name in docker-compose.yml, and the name by which
	// other programs' Env refer to it: "step3", "step7-gateway".
	Service string
	// Package is the Go package to build, from the repository's root.
	Package string
	// Port is what it listens on (its PORT).
	Port int
	// Public programs are the ones a learner calls (published in compose).
	Public bool
	// Env is its environment, with "{name}" for the address of a part or
	// of another program of the step. GITHUB_TOKEN is passed through from
	// the learner's environment and is not listed.
	Env map[string]string
}

// ExitGrace is how long a program takes to exit once its requests are
// done: it flushes its last spans to Jaeger.
const ExitGrace = 3 * time.Second

// Drain is how long p, run with env, may take after SIGTERM to finish the
// work it has in hand: its longest request, which its main.go gives its
// server's Shutdown, and for the cleaner the job in hand too. Whatever
// stops it (the native runner, docker compose's stop_grace_period) must
// wait that long, and ExitGrace, before it kills it; or a request in
// flight loses its answer.
func (p Program) Drain(env map[string]string) time.Duration {
	reply := 15 * time.Second // the gateway's REPLY_TIMEOUT, by default
	if d, err := time.ParseDuration(env["REPLY_TIMEOUT"]); err == nil && d > 0 {
		reply = d
	}
	switch {
	case !strings.Contains(p.Service, "-"):
		return 30 * time.Second // a monolith's WriteTimeout
	case strings.HasSuffix(p.Service, "-contributors"):
		return 10*time.Second + 5*time.Second // GitHub's timeout, and a little more
	case strings.HasSuffix(p.Service, "-cleaner"):
		// 5 s for its /healthz, and the job in hand, which nobody waits
		// for after its deadline.
		return 5*time.Second + reply
	default:
		// The gateway: its HTTP client's 12 s for the contributors
		// service, its REPLY_TIMEOUT for the cleaner, 5 s for Redis. Also
		// any program this table does not know yet: the longest drain,
		// rather than a SIGKILL in the middle of its requests.
		return 12*time.Second + reply + 5*time.Second
	}
}

// Step is one lesson.
type Step struct {
	Number   int
	Dir      string // "step3-adding-jaeger"
	Programs []Program
	// JaegerRoles is the directory of the step's Jaeger configuration,
	// from the repository's root, when its Jaeger runs as its roles
	// (storage.yaml, collector.yaml, query.yaml: step 11 on); "" is the
	// one all-in-one Jaeger. Either way the programs send their spans to
	// {jaeger-otlp}: the collector's OTLP.
	JaegerRoles string
}

// NeedsRedis reports whether any program of the step talks to Redis.
func (s Step) NeedsRedis() bool { return s.uses(Redis) }

// NeedsJaeger reports whether any program of the step reports spans.
func (s Step) NeedsJaeger() bool { return s.uses(JaegerCollector) || s.uses(JaegerOTLP) }

func (s Step) uses(part string) bool {
	for _, p := range s.Programs {
		for _, value := range p.Env {
			if strings.Contains(value, "{"+part+"}") {
				return true
			}
		}
	}
	return false
}

// Profile is the step's docker compose profile: "step3".
func (s Step) Profile() string { return fmt.Sprintf("step%d", s.Number) }

var monoliths = []string{
	"step1-monolith", "step2-monolith-wild", "step3-adding-jaeger",
	"step4-multiple-spans", "step5-tags-logs",
}

// Steps returns every step, in order.
func Steps() []Step {
	var steps []Step
	for i, dir := range monoliths {
		n := i + 1
		env := map[string]string{
			"PORT":           "8000",
			"GITHUB_API_URL": "http://{github}/",
		}
		if n >= 3 {
			env["JAEGER_ENDPOINT"] = "http://{jaeger-collector}/api/traces"
		}
		steps = append(steps, Step{Number: n, Dir: dir, Programs: []Program{{
			Service: fmt.Sprintf("step%d", n), Package: "./" + dir,
			Port: 8000, Public: true, Env: env,
		}}})
	}
	for n, dir := range map[int]string{
		6: "step6-distributed-single-span", 7: "step7-distributed-multi-span", 8: "step8-baggage",
		9: "step9-opentelemetry", 10: "step10-opentelemetry-native",
		11: "step11-jaeger-architecture", 12: "step12-sampling",
	} {
		name := func(program string) string { return fmt.Sprintf("step%d-%s", n, program) }
		jaeger := func(env map[string]string, traced bool) map[string]string {
			switch {
			case n >= 9: // OpenTelemetry's SDK, over OTLP (step 9: the bridge; 10 on: the native API)
				env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://{jaeger-otlp}"
				if n >= 12 { // head sampling as the collector's strategies say, every 5 s
					env["OTEL_TRACES_SAMPLER"] = "parentbased_jaeger_remote"
					env["OTEL_TRACES_SAMPLER_ARG"] = "endpoint=http://{jaeger-sampling}/sampling,pollingIntervalMs=5000,initialSamplingRate=1"
				}
			case traced:
				env["JAEGER_ENDPOINT"] = "http://{jaeger-collector}/api/traces"
			}
			return env
		}
		roles := ""
		if n >= 11 {
			roles = dir + "/jaeger"
		}
		steps = append(steps, Step{Number: n, Dir: dir, JaegerRoles: roles, Programs: []Program{
			{Service: name("gateway"), Package: "./" + dir + "/gateway", Port: 8000, Public: true,
				Env: jaeger(map[string]string{
					"PORT":             "8000",
					"CONTRIBUTORS_URL": "http://{" + name("contributors") + "}",
					"REDIS_ADDR":       "{redis}",
				}, true)},
			{Service: name("contributors"), Package: "./" + dir + "/contributors", Port: 8001,
				Env: jaeger(map[string]string{
					"PORT":           "8001",
					"GITHUB_API_URL": "http://{github}/",
				}, n >= 7)},
			{Service: name("cleaner"), Package: "./" + dir + "/cleaner", Port: 8002,
				Env: jaeger(map[string]string{
					"PORT":       "8002",
					"REDIS_ADDR": "{redis}",
				}, n >= 7)},
		}})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Number < steps[j].Number })
	return steps
}

// Find returns step n.
func Find(n int) (Step, error) {
	for _, s := range Steps() {
		if s.Number == n {
			return s, nil
		}
	}
	var names []string
	for _, s := range Steps() {
		names = append(names, fmt.Sprintf("%d (%s)", s.Number, s.Dir))
	}
	return Step{}, fmt.Errorf("no step %d; the steps are %s", n, strings.Join(names, ", "))
}

var reference = regexp.MustCompile(`\{([a-z0-9-]+)\}`)

// Resolve puts addresses into env: address(name) gives "host:port" for a
// part or a program of the step. It fails on a name it does not know.
func Resolve(env map[string]string, address func(name string) (string, bool)) (map[string]string, error) {
	resolved := map[string]string{}
	var missing []string
	for key, value := range env {
		resolved[key] = reference.ReplaceAllStringFunc(value, func(ref string) string {
			addr, ok := address(ref[1 : len(ref)-1])
			if !ok {
				missing = append(missing, ref)
			}
			return addr
		})
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no address for %s", strings.Join(missing, ", "))
	}
	return resolved, nil
}
