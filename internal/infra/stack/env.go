package stack

import (
	"maps"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// BaseEnv is what every program, redis-server and Jaeger get of the
// environment of whoever starts them: what a program needs to run, and
// nothing else. No secret of the learner's shell reaches a program.
func BaseEnv() []string {
	var env []string
	for _, key := range []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"} {
		if value, ok := os.LookupEnv(key); ok {
			env = append(env, key+"="+value)
		}
	}
	return env
}

// programEnv is the whole environment of program p, on port, with wiring
// (its topology Env with the addresses filled in), in this order, later
// ones winning:
//
//   - BaseEnv;
//   - the learner's settings of the tutorial's programs: REPLY_TIMEOUT,
//     CLEANER_NAME, BAD_THINGS (step 2's README offers
//     `BAD_THINGS=off make run`), JAEGER_* to a program that reports with
//     jaeger-client-go, OTEL_* to one that uses OpenTelemetry's SDK;
//   - the wiring, PORT, and HOST=127.0.0.1 (not the meetup's Wi-Fi);
//   - for a traced program: the flush interval, so the first trace shows at
//     once; JAEGER_UI, for the trace links it logs; the run tag, if any;
//   - the learner's GitHub (opts.GitHubURL) in GITHUB_API_URL, and
//     GITHUB_TOKEN only to the program that calls GitHub, and only over
//     HTTPS (sendToken);
//   - opts.Env, then opts.ProgramEnv[name].
func (s *Stack) programEnv(p topology.Program, wiring map[string]string, port int) []string {
	env := map[string]string{}
	for _, kv := range BaseEnv() {
		key, value, _ := strings.Cut(kv, "=")
		env[key] = value
	}
	_, jaegerClient := wiring["JAEGER_ENDPOINT"]
	_, otelSDK := wiring["OTEL_EXPORTER_OTLP_ENDPOINT"]
	for _, kv := range os.Environ() {
		key, value, _ := strings.Cut(kv, "=")
		switch {
		case key == "REPLY_TIMEOUT", key == "CLEANER_NAME", key == "BAD_THINGS",
			jaegerClient && strings.HasPrefix(key, "JAEGER_"), // JAEGER_DISABLED, JAEGER_SAMPLER_*
			otelSDK && strings.HasPrefix(key, "OTEL_"):
			env[key] = value
		}
	}
	maps.Copy(env, wiring)
	env["PORT"] = strconv.Itoa(port)
	env["HOST"] = ports.Loopback
	if jaegerClient {
		env["JAEGER_REPORTER_FLUSH_INTERVAL"] = FlushInterval.String()
		env["JAEGER_UI"] = s.JaegerUI
		if s.RunTag != "" {
			env["JAEGER_TAGS"] = RunTagKey + "=" + s.RunTag
		}
	}
	if otelSDK { // steps 9 on
		env["OTEL_BSP_SCHEDULE_DELAY"] = strconv.Itoa(int(FlushInterval.Milliseconds()))
		env["JAEGER_UI"] = s.JaegerUI
		if s.RunTag != "" {
			env["OTEL_RESOURCE_ATTRIBUTES"] = RunTagKey + "=" + s.RunTag
		}
	}
	if _, ok := wiring["GITHUB_API_URL"]; ok {
		if s.opts.GitHubURL != "" {
			env["GITHUB_API_URL"] = s.opts.GitHubURL
		}
		if token := os.Getenv("GITHUB_TOKEN"); token != "" && SendToken(s.opts.GitHubURL) {
			env["GITHUB_TOKEN"] = token
		}
	}
	maps.Copy(env, s.opts.Env)
	maps.Copy(env, s.opts.ProgramEnv[Name(s.Step, p)])
	return EnvList(env)
}

// RunTagKey is the tracer tag (JAEGER_TAGS, OTEL_RESOURCE_ATTRIBUTES) whose
// value, Options.RunTag, tells one stack's spans from another's in a
// shared Jaeger.
const RunTagKey = "workshop.run"

// SendToken reports whether GITHUB_TOKEN goes to the program that calls
// GitHub at githubURL: only to a GitHub that the learner chose, and only
// over HTTPS. Never to the stand-in (""), which needs none.
func SendToken(githubURL string) bool {
	u, err := url.Parse(githubURL)
	return githubURL != "" && err == nil && u.Scheme == "https" && u.Host != ""
}

// EnvList is env as exec.Cmd.Env takes it, sorted.
func EnvList(env map[string]string) []string {
	var list []string
	for _, key := range slices.Sorted(maps.Keys(env)) {
		list = append(list, key+"="+env[key])
	}
	return list
}

// Name is what the tutorial calls program p of step: "gateway" in steps
// 6 on, the step's service ("step3") in the one-program steps.
func Name(step topology.Step, p topology.Program) string {
	return strings.TrimPrefix(p.Service, step.Profile()+"-")
}
