package composecheck

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

const (
	repoRoot    = "../.."
	composeFile = "../../docker-compose.yml"
	dockerfile  = "../../Dockerfile"

	// buildArg is the Dockerfile's build argument that names the Go package.
	buildArg = "PACKAGE"
	// proxyArg passes the shell's Go module proxy to the build.
	proxyArg = "GOPROXY"
	// healthProbe is the health-check binary the Dockerfile puts in every
	// image it builds (they have no shell, curl or wget).
	healthProbe        = "/healthcheck"
	healthProbePackage = "./cmd/healthcheck"
)

// part is a shared service of docker-compose.yml that topology refers to by
// name: "{redis}" in an Env value is the address of the service redis.
type part struct {
	service string
	port    int // what the other services reach it on
}

var parts = map[string]part{
	topology.Redis:           {"redis", 6379},
	topology.JaegerCollector: {"jaeger", 14268},
	topology.JaegerOTLP:      {"jaeger", 4318},
	topology.GitHub:          {"github", 9090},
}

// jaegerRoles are the services of a step whose Jaeger runs as its roles
// (topology.Step.JaegerRoles), with the port the others reach each on and
// its config; the programs send their spans to the collector.
// Step 11's are jaeger-storage, jaeger-collector and jaeger-query; from
// step 12, whose configs differ, each step has its own: step12-jaeger-….
func jaegerRoles(step topology.Step) []struct {
	service, config string
	ports           []int
} {
	prefix := "jaeger-"
	if step.Number >= 12 {
		prefix = step.Profile() + "-jaeger-"
	}
	collector := []int{4318}
	if uses(step, topology.JaegerSampling) {
		collector = append(collector, 5778) // remote_sampling's strategies
	}
	return []struct {
		service, config string
		ports           []int
	}{
		{prefix + "storage", "storage.yaml", []int{17271}},
		{prefix + "collector", "collector.yaml", collector},
		{prefix + "query", "query.yaml", []int{jaegerUIPort}},
	}
}

// partsOf is parts, as step sees them: its {jaeger-otlp} is the
// collector's when its Jaeger runs as its roles, and so is its
// {jaeger-sampling}.
func partsOf(step topology.Step) map[string]part {
	if step.JaegerRoles == "" {
		return parts
	}
	roles := maps.Clone(parts)
	collector := jaegerRoles(step)[1].service
	roles[topology.JaegerOTLP] = part{collector, 4318}
	roles[topology.JaegerSampling] = part{collector, 5778}
	return roles
}

const (
	fakeGitHubPackage = "./cmd/fakegithub"
	jaegerUIPort      = 16686
)

// load reads docker-compose.yml as docker compose does, with profiles
// active and env as the only environment (the test must not depend on the
// shell's GITHUB_TOKEN or on a learner's .env).
func load(t *testing.T, profiles []string, env ...string) *types.Project {
	t.Helper()
	options, err := cli.NewProjectOptions([]string{composeFile},
		cli.WithWorkingDirectory(repoRoot),
		cli.WithEnv(env),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load with profiles %q: %v", profiles, err)
	}
	return project
}

// uses reports whether a step's programs refer to the named part.
func uses(step topology.Step, name string) bool {
	for _, p := range step.Programs {
		for _, value := range p.Env {
			if strings.Contains(value, "{"+name+"}") {
				return true
			}
		}
	}
	return false
}

// expectedServices is what a step's profile must start: its programs and
// the shared parts they use.
func expectedServices(step topology.Step) []string {
	var names []string
	for _, p := range step.Programs {
		names = append(names, p.Service)
	}
	for name, part := range partsOf(step) {
		if uses(step, name) && !slices.Contains(names, part.service) {
			names = append(names, part.service)
		}
	}
	if step.JaegerRoles != "" {
		roles := jaegerRoles(step)
		names = append(names, roles[0].service, roles[2].service)
	}
	sort.Strings(names)
	return names
}

// listenPorts gives, for each service of the step's profile, the ports
// other services may address it on.
func listenPorts(step topology.Step) map[string][]int {
	ports := map[string][]int{}
	for _, p := range step.Programs {
		ports[p.Service] = []int{p.Port}
	}
	for name, part := range partsOf(step) {
		if uses(step, name) {
			ports[part.service] = []int{part.port}
		}
	}
	if step.JaegerRoles != "" {
		for _, role := range jaegerRoles(step) {
			ports[role.service] = role.ports
		}
	}
	return ports
}

// composeAddress gives the address of a part or a program of the step in
// compose: "{redis}" is "redis:6379", "{step7-contributors}" is
// "step7-contributors:8001".
func composeAddress(step topology.Step) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if part, ok := partsOf(step)[name]; ok {
			return net.JoinHostPort(part.service, strconv.Itoa(part.port)), true
		}
		for _, p := range step.Programs {
			if p.Service == name {
				return net.JoinHostPort(p.Service, strconv.Itoa(p.Port)), true
			}
		}
		return "", false
	}
}

// expectedEnv is a program's environment in compose: topology's, with
// compose addresses, plus an empty GITHUB_TOKEN (filled from the learner's
// shell or .env) for the programs that call GitHub.
func expectedEnv(t *testing.T, step topology.Step, p topology.Program) map[string]string {
	t.Helper()
	env, err := topology.Resolve(p.Env, composeAddress(step))
	if err != nil {
		t.Fatalf("topology of %s: %v", p.Service, err)
	}
	if _, ok := env["GITHUB_API_URL"]; ok {
		env["GITHUB_TOKEN"] = ""
	}
	return env
}

func environment(service types.ServiceConfig) map[string]string {
	env := map[string]string{}
	for key, value := range service.Environment {
		if value == nil {
			env[key] = "<unset: passed through from the shell>"
		} else {
			env[key] = *value
		}
	}
	return env
}

func TestNoProfileStartsNothing(t *testing.T) {
	// Every service belongs to the profiles of the steps that use it: a
	// service without a profile would start with every step, wanted or not.
	project := load(t, nil)
	if names := project.ServiceNames(); len(names) > 0 {
		t.Errorf("`docker compose up` with no profile would start %v; give each service the profiles of the steps that need it", names)
	}
}

func TestEveryServiceBelongsToAStep(t *testing.T) {
	project := load(t, []string{"*"})
	wanted := map[string]bool{}
	for _, step := range topology.Steps() {
		for _, name := range expectedServices(step) {
			wanted[name] = true
		}
	}
	for _, name := range project.ServiceNames() {
		if !wanted[name] {
			t.Errorf("service %s is in no step of internal/infra/topology: remove it, or add its program to topology", name)
		}
	}
}

func TestProfiles(t *testing.T) {
	for _, step := range topology.Steps() {
		t.Run(step.Profile(), func(t *testing.T) {
			project := load(t, []string{step.Profile()})
			want := expectedServices(step)
			got := project.ServiceNames()
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Fatalf("--profile %s starts %v, want %v (the step's programs from internal/infra/topology, plus the shared parts they use)",
					step.Profile(), got, want)
			}
			checkPrograms(t, step, project)
			checkSharedParts(t, step, project)
			for _, name := range got {
				service := project.Services[name]
				for _, problem := range imageProblems(service) {
					t.Errorf("%s: %s", name, problem)
				}
				for _, problem := range portProblems(service.Ports) {
					t.Errorf("%s: %s", name, problem)
				}
				for _, problem := range healthProblems(service) {
					t.Errorf("%s: %s", name, problem)
				}
				for _, problem := range dependsProblems(service, project) {
					t.Errorf("%s: %s", name, problem)
				}
				for _, problem := range addressProblems(service, listenPorts(step)) {
					t.Errorf("%s: %s", name, problem)
				}
			}
			for _, problem := range hostPortClashes(project) {
				t.Errorf("--profile %s: %s", step.Profile(), problem)
			}
		})
	}
}

func checkPrograms(t *testing.T, step topology.Step, project *types.Project) {
	for _, p := range step.Programs {
		service := project.Services[p.Service]
		checkBuild(t, service, p.Package)

		want := expectedEnv(t, step, p)
		got := environment(service)
		for key, value := range want {
			if g, ok := got[key]; !ok {
				t.Errorf("%s: environment lacks %s=%q (internal/infra/topology)", p.Service, key, value)
			} else if g != value {
				t.Errorf("%s: %s=%q, want %q (internal/infra/topology, with compose addresses)", p.Service, key, g, value)
			}
		}
		for key, value := range got {
			if _, ok := want[key]; !ok {
				t.Errorf("%s: environment has %s=%q, which internal/infra/topology does not give it", p.Service, key, value)
			}
		}

		wantPorts := []string(nil)
		if p.Public {
			wantPorts = []string{fmt.Sprintf("127.0.0.1:%d:%d/tcp", p.Port, p.Port)}
		}
		if got := portStrings(service.Ports); !slices.Equal(got, wantPorts) {
			t.Errorf("%s publishes %v, want %v (public programs publish their port on 127.0.0.1, the others nothing)", p.Service, got, wantPorts)
		}

		wantTest := []string{"CMD", healthProbe, fmt.Sprintf("http://127.0.0.1:%d/healthz", p.Port)}
		if service.HealthCheck == nil || !slices.Equal(service.HealthCheck.Test, wantTest) {
			var got []string
			if service.HealthCheck != nil {
				got = service.HealthCheck.Test
			}
			t.Errorf("%s: healthcheck test %q, want %q (its image has no shell: CMD and the probe only)", p.Service, got, wantTest)
		}

		// docker compose stops a service with SIGTERM, then SIGKILL after
		// its stop_grace_period, 10 s unless set: shorter than that, and a
		// `docker compose stop` or `down` during a slow request cuts it
		// off without its answer.
		wantGrace := p.Drain(got) + topology.ExitGrace
		if grace := service.StopGracePeriod; grace == nil || time.Duration(*grace) < wantGrace {
			have := "unset (10s)"
			if grace != nil {
				have = time.Duration(*grace).String()
			}
			t.Errorf("%s: stop_grace_period is %s, want at least %s: its drain after SIGTERM (topology.Program.Drain) and %s to exit", p.Service, have, wantGrace, topology.ExitGrace)
		}
	}
}

func checkSharedParts(t *testing.T, step topology.Step, project *types.Project) {
	if uses(step, topology.GitHub) {
		github := project.Services[parts[topology.GitHub].service]
		checkBuild(t, github, fakeGitHubPackage)
		wantCommand := []string{"-addr", fmt.Sprintf("0.0.0.0:%d", parts[topology.GitHub].port)}
		if !slices.Equal(github.Command, wantCommand) {
			t.Errorf("github: command %q, want %q (listen on the container's interfaces, on the port the programs use)", []string(github.Command), wantCommand)
		}
		if len(github.Ports) > 0 {
			t.Errorf("github publishes %v: only the programs talk to it", portStrings(github.Ports))
		}
		if hc := github.HealthCheck; hc == nil || len(hc.Test) < 2 || hc.Test[0] != "CMD" || hc.Test[1] != healthProbe {
			t.Errorf("github: its image has no shell, curl or wget: its health check must be [CMD %s ...]", healthProbe)
		}
	}
	if uses(step, topology.JaegerCollector) {
		jaeger := project.Services[parts[topology.JaegerCollector].service]
		if got := environment(jaeger)["JAEGER_LISTEN_HOST"]; got != "0.0.0.0" {
			t.Errorf("jaeger: JAEGER_LISTEN_HOST=%q, want 0.0.0.0, or its collector listens on localhost only and no other container reaches it", got)
		}
		want := []string{fmt.Sprintf("127.0.0.1:%d:%d/tcp", jaegerUIPort, jaegerUIPort)}
		if got := portStrings(jaeger.Ports); !slices.Equal(got, want) {
			t.Errorf("jaeger publishes %v, want %v: the UI, on this machine only", got, want)
		}
	}
	if step.JaegerRoles != "" {
		checkJaegerRoles(t, step, project)
	}
	if uses(step, topology.Redis) {
		redis := project.Services[parts[topology.Redis].service]
		if redis.Build != nil {
			t.Errorf("redis: built from source, want the official image")
		}
	}
}

// checkJaegerRoles: each of Jaeger's roles runs the step's own config,
// mounted, listens on the container's interfaces, and only query
// publishes its UI, on this machine only.
func checkJaegerRoles(t *testing.T, step topology.Step, project *types.Project) {
	for _, role := range jaegerRoles(step) {
		service := project.Services[role.service]
		if want := []string{"--config", "/etc/jaeger/" + role.config}; !slices.Equal(service.Command, want) {
			t.Errorf("%s: command %q, want %q", role.service, []string(service.Command), want)
		}
		mounted := false
		for _, v := range service.Volumes {
			root, _ := filepath.Abs(repoRoot)
			mounted = mounted || (v.Source == filepath.Join(root, step.JaegerRoles) && v.Target == "/etc/jaeger" && v.ReadOnly)
		}
		if !mounted {
			t.Errorf("%s: the step's %s is not mounted read-only on /etc/jaeger", role.service, step.JaegerRoles)
		}
		if got := environment(service)["LISTEN_HOST"]; got != "0.0.0.0" {
			t.Errorf("%s: LISTEN_HOST=%q, want 0.0.0.0, or no other container reaches it", role.service, got)
		}
		var want []string
		if role.config == "query.yaml" {
			want = []string{fmt.Sprintf("127.0.0.1:%d:%d/tcp", jaegerUIPort, jaegerUIPort)}
		}
		if got := portStrings(service.Ports); !slices.Equal(got, want) {
			t.Errorf("%s publishes %v, want %v", role.service, got, want)
		}
	}
}

// checkBuild: service is built from the repository's Dockerfile with
// PACKAGE=pkg and nothing else.
func checkBuild(t *testing.T, service types.ServiceConfig, pkg string) {
	if service.Build == nil {
		t.Errorf("%s: no build section; it is built from the repository's Dockerfile", service.Name)
		return
	}
	if service.Image != "" {
		t.Errorf("%s: has both image %q and build; drop the image", service.Name, service.Image)
	}
	root, _ := filepath.Abs(repoRoot)
	dir := service.Build.Context
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	if filepath.Clean(dir) != root {
		t.Errorf("%s: build context %s, want the repository's root %s", service.Name, service.Build.Context, root)
	}
	if df := service.Build.Dockerfile; df != "" && df != "Dockerfile" {
		t.Errorf("%s: dockerfile %q, want the repository's Dockerfile", service.Name, df)
	}
	var args []string
	for key := range service.Build.Args {
		args = append(args, key)
	}
	sort.Strings(args)
	if want := []string{proxyArg, buildArg}; !slices.Equal(args, want) {
		t.Errorf("%s: build args %v, want %v", service.Name, args, want)
	}
	if got := service.Build.Args[proxyArg]; got == nil || *got != "" {
		t.Errorf("%s: build arg %s=%v with no GOPROXY in the environment, want it empty (Go's default): write ${GOPROXY:-}", service.Name, proxyArg, deref(got))
	}
	if got := service.Build.Args[buildArg]; got == nil || *got != pkg {
		t.Errorf("%s: build arg %s=%v, want %q (internal/infra/topology)", service.Name, buildArg, deref(got), pkg)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<unset>"
	}
	return *s
}

func TestRealGitHub(t *testing.T) {
	// A learner switches to GitHub with GITHUB_API_URL and GITHUB_TOKEN in
	// the shell or in .env; only the programs that call GitHub get them.
	const apiURL, token = "https://api.github.com/", "test-token"
	for _, step := range topology.Steps() {
		project := load(t, []string{step.Profile()}, "GITHUB_API_URL="+apiURL, "GITHUB_TOKEN="+token)
		for _, p := range step.Programs {
			env := environment(project.Services[p.Service])
			if _, calls := p.Env["GITHUB_API_URL"]; calls {
				if env["GITHUB_API_URL"] != apiURL || env["GITHUB_TOKEN"] != token {
					t.Errorf("%s with GITHUB_API_URL=%s GITHUB_TOKEN=%s set: got GITHUB_API_URL=%q GITHUB_TOKEN=%q; write them as ${GITHUB_API_URL:-...} and ${GITHUB_TOKEN:-}",
						p.Service, apiURL, token, env["GITHUB_API_URL"], env["GITHUB_TOKEN"])
				}
			} else {
				for _, key := range []string{"GITHUB_API_URL", "GITHUB_TOKEN"} {
					if _, ok := env[key]; ok {
						t.Errorf("%s does not call GitHub but gets %s", p.Service, key)
					}
				}
			}
		}
	}
}

// imageProblems: an image from a registry must be pinned, with a tag other
// than latest or a digest, so that every learner runs the same thing.
func imageProblems(service types.ServiceConfig) []string {
	if service.Build != nil && service.Image == "" {
		return nil
	}
	return imageRefProblems(service.Image)
}

func imageRefProblems(ref string) []string {
	if ref == "" {
		return []string{"neither an image nor a build"}
	}
	if strings.Contains(ref, "@sha256:") {
		return nil
	}
	name, tag := ref, ""
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		name, tag = ref[:i], ref[i+1:]
	}
	switch tag {
	case "":
		return []string{fmt.Sprintf("image %q has no tag (that is %s:latest): pin a version", ref, name)}
	case "latest":
		return []string{fmt.Sprintf("image %q: pin a version instead of latest", ref)}
	}
	return nil
}

// portProblems: every published port binds 127.0.0.1 with a fixed host
// port. Without a host address docker publishes on every interface, so the
// programs (and a Jaeger full of traces) would be open to the network.
func portProblems(ports []types.ServicePortConfig) []string {
	var problems []string
	for _, p := range ports {
		desc := portString(p)
		if p.HostIP != "127.0.0.1" {
			problems = append(problems, fmt.Sprintf("port %s is published on %s; bind it to 127.0.0.1 (\"127.0.0.1:%d:%d\")",
				desc, cmpOr(p.HostIP, "every interface"), p.Target, p.Target))
		}
		if p.Published == "" {
			problems = append(problems, fmt.Sprintf("port %s has no host port, so docker picks one at random; publish a fixed one", desc))
		}
	}
	return problems
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func portString(p types.ServicePortConfig) string {
	s := fmt.Sprintf("%s:%d/%s", p.Published, p.Target, cmpOr(p.Protocol, "tcp"))
	if p.HostIP != "" {
		s = p.HostIP + ":" + s
	}
	return s
}

func portStrings(ports []types.ServicePortConfig) []string {
	var s []string
	for _, p := range ports {
		s = append(s, portString(p))
	}
	return s
}

// hostPortClashes: two services of a profile publishing the same host port
// would fail to start together.
func hostPortClashes(project *types.Project) []string {
	owner := map[string]string{}
	var problems []string
	for _, name := range project.ServiceNames() {
		for _, p := range project.Services[name].Ports {
			key := fmt.Sprintf("%s:%s/%s", p.HostIP, p.Published, cmpOr(p.Protocol, "tcp"))
			if other, ok := owner[key]; ok {
				problems = append(problems, fmt.Sprintf("%s and %s both publish %s", other, name, key))
			}
			owner[key] = name
		}
	}
	sort.Strings(problems)
	return problems
}

// healthProblems: every service has a health check, which depends_on's
// service_healthy waits for.
func healthProblems(service types.ServiceConfig) []string {
	hc := service.HealthCheck
	switch {
	case hc == nil:
		return []string{"no healthcheck; whatever depends on it cannot wait until it answers"}
	case hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE":
		return []string{"healthcheck disabled"}
	case hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL":
		return []string{fmt.Sprintf("healthcheck test %q starts with neither CMD nor CMD-SHELL", []string(hc.Test))}
	case service.Build != nil && hc.Test[0] == "CMD-SHELL":
		return []string{"healthcheck uses CMD-SHELL, but the images built here have no shell"}
	case service.Build != nil && (len(hc.Test) < 2 || hc.Test[1] != healthProbe):
		return []string{fmt.Sprintf("healthcheck %q: the images built here have only %s to check health with", []string(hc.Test), healthProbe)}
	}
	return nil
}

// dependsProblems: every service a service waits for is in the same profile
// (or `up` fails), and it waits until that one is healthy, not just started.
func dependsProblems(service types.ServiceConfig, project *types.Project) []string {
	var problems []string
	for name, dep := range service.DependsOn {
		if _, ok := project.Services[name]; !ok {
			problems = append(problems, fmt.Sprintf("depends on %s, which this profile does not start", name))
		}
		if dep.Condition != types.ServiceConditionHealthy {
			problems = append(problems, fmt.Sprintf("depends on %s with condition %q, want %s", name, dep.Condition, types.ServiceConditionHealthy))
		}
	}
	sort.Strings(problems)
	return problems
}

var hostPort = regexp.MustCompile(`^([A-Za-z0-9_.-]+):([0-9]+)$`)

// addressesIn finds the host:port addresses in an environment value: a URL
// ("http://jaeger:14268/api/traces") or a bare "redis:6379".
func addressesIn(value string) []string {
	if strings.Contains(value, "://") {
		u, err := url.Parse(value)
		if err != nil || u.Host == "" {
			return nil
		}
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		return []string{net.JoinHostPort(u.Hostname(), port)}
	}
	if hostPort.MatchString(value) {
		return []string{value}
	}
	return nil
}

// addressProblems: every address in a service's environment names a service
// of the profile and a port that service listens on, and the service waits
// for it to be healthy.
func addressProblems(service types.ServiceConfig, listens map[string][]int) []string {
	var problems []string
	for key, value := range environment(service) {
		for _, addr := range addressesIn(value) {
			host, portText, _ := net.SplitHostPort(addr)
			port, _ := strconv.Atoi(portText)
			ports, ok := listens[host]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s=%q: %s is no service of this profile", key, value, host))
			case !slices.Contains(ports, port):
				problems = append(problems, fmt.Sprintf("%s=%q: %s listens on %v, not %d", key, value, host, ports, port))
			default:
				if _, waits := service.DependsOn[host]; !waits {
					problems = append(problems, fmt.Sprintf("%s=%q: talks to %s but does not depend on it", key, value, host))
				}
			}
		}
	}
	sort.Strings(problems)
	return problems
}

func TestCheckersCatchMistakes(t *testing.T) {
	ports := func(spec string) []types.ServicePortConfig {
		p, err := types.ParsePortConfig(spec)
		if err != nil {
			t.Fatalf("ParsePortConfig(%q): %v", spec, err)
		}
		return p
	}
	for spec, bad := range map[string]bool{
		"127.0.0.1:8000:8000": false,
		"0.0.0.0:8000:8000":   true,
		"8000:8000":           true,
		"8000":                true,
		"127.0.0.1::8000":     true,
	} {
		if got := len(portProblems(ports(spec))) > 0; got != bad {
			t.Errorf("portProblems(%q) flagged=%v, want %v", spec, got, bad)
		}
	}

	for ref, bad := range map[string]bool{
		"redis:7.4-alpine":                     false,
		"localhost:5000/redis:7":               false,
		"gcr.io/distroless/static@sha256:0123": false,
		"redis":                                true,
		"redis:latest":                         true,
		"localhost:5000/redis":                 true,
		"":                                     true,
	} {
		if got := len(imageRefProblems(ref)) > 0; got != bad {
			t.Errorf("imageRefProblems(%q) flagged=%v, want %v", ref, got, bad)
		}
	}

	listens := map[string][]int{"jaeger": {14268}, "redis": {6379}}
	waits := types.DependsOnConfig{"jaeger": {Condition: types.ServiceConditionHealthy}, "redis": {Condition: types.ServiceConditionHealthy}}
	for value, bad := range map[string]bool{
		"http://jaeger:14268/api/traces":    false,
		"redis:6379":                        false,
		"8000":                              false,
		"0.0.0.0":                           false,
		"http://jaeger:16686/api/traces":    true, // the UI's port, not the collector's
		"http://jaeger/api/traces":          true, // port 80
		"localhost:6379":                    true, // another container's localhost
		"http://step6-contributors:8001":    true, // not in the profile
		"http://127.0.0.1:14268/api/traces": true,
		"https://api.github.com/":           true,
	} {
		service := types.ServiceConfig{Name: "x"}
		service.DependsOn = waits
		service.Environment = types.NewMappingWithEquals([]string{"V=" + value})
		if got := len(addressProblems(service, listens)) > 0; got != bad {
			t.Errorf("addressProblems(V=%q) flagged=%v, want %v", value, got, bad)
		}
	}
	service := types.ServiceConfig{Name: "x"}
	service.Environment = types.NewMappingWithEquals([]string{"REDIS_ADDR=redis:6379"})
	if len(addressProblems(service, listens)) == 0 {
		t.Errorf("addressProblems did not flag a service that talks to redis without depending on it")
	}

	a, b := types.ServiceConfig{Name: "a"}, types.ServiceConfig{Name: "b"}
	a.Ports, b.Ports = ports("127.0.0.1:8000:8000"), ports("127.0.0.1:8000:8001")
	clash := &types.Project{Services: types.Services{"a": a, "b": b}}
	if len(hostPortClashes(clash)) == 0 {
		t.Errorf("hostPortClashes did not flag two services on 127.0.0.1:8000")
	}
	if len(healthProblems(types.ServiceConfig{Name: "x"})) == 0 {
		t.Errorf("healthProblems did not flag a service without a healthcheck")
	}
	shell := types.ServiceConfig{Name: "x"}
	shell.Build = &types.BuildConfig{Context: "."}
	shell.HealthCheck = &types.HealthCheckConfig{Test: types.HealthCheckTest{"CMD-SHELL", "curl -f http://127.0.0.1:8000/healthz"}}
	if len(healthProblems(shell)) == 0 {
		t.Errorf("healthProblems did not flag a shell health check in a distroless image")
	}
}

// TestPackagesBuild: every PACKAGE in docker-compose.yml, and the health
// probe the Dockerfile adds, is a main package that builds the way the
// Dockerfile builds it.
func TestPackagesBuild(t *testing.T) {
	project := load(t, []string{"*"})
	packages := map[string][]string{healthProbePackage: {"Dockerfile"}}
	for _, name := range project.ServiceNames() {
		if build := project.Services[name].Build; build != nil {
			if pkg := build.Args[buildArg]; pkg != nil {
				packages[*pkg] = append(packages[*pkg], name)
			}
		}
	}
	if len(packages) < 2 {
		t.Fatalf("found no %s build args in docker-compose.yml", buildArg)
	}
	root, _ := filepath.Abs(repoRoot)
	for _, pkg := range slices.Sorted(maps.Keys(packages)) {
		t.Run(strings.TrimPrefix(pkg, "./"), func(t *testing.T) {
			t.Parallel() // linking is most of the time, and single-threaded
			if !strings.HasPrefix(pkg, "./") {
				t.Fatalf("%s=%q (for %v): want a path from the repository's root, like ./step1-monolith", buildArg, pkg, packages[pkg])
			}
			if info, err := os.Stat(filepath.Join(root, pkg)); err != nil || !info.IsDir() {
				t.Fatalf("%s=%q (for %v) is no directory of the repository", buildArg, pkg, packages[pkg])
			}
			name := goCommand(t, root, "list", "-f", "{{.Name}}", pkg)
			if name != "main" {
				t.Fatalf("%s=%q (for %v) is package %s, want a main package", buildArg, pkg, packages[pkg], name)
			}
			goCommand(t, root, "build", "-o", os.DevNull, pkg)
		})
	}
}

func goCommand(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	// As the Dockerfile builds: static, for Linux.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestDockerfile: the Dockerfile takes the build argument compose passes,
// pins its images, builds with the Go of go.mod, ships the health probe
// and does not run as root.
func TestDockerfile(t *testing.T) {
	f, err := os.Open(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var args, froms, users []string
	var copiesProbe bool
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 2 {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "ARG":
			args = append(args, strings.SplitN(fields[1], "=", 2)[0])
		case "FROM":
			froms = append(froms, fields[1])
			users = nil // USER applies to its own stage
		case "USER":
			users = append(users, fields[1])
		case "COPY":
			if fields[len(fields)-1] == healthProbe {
				copiesProbe = true
			}
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}

	if !slices.Contains(args, buildArg) {
		t.Errorf("Dockerfile declares ARG %v, want ARG %s, the build argument docker-compose.yml passes", args, buildArg)
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has stages FROM %v, want a build stage and a runtime stage", froms)
	}
	for _, from := range froms {
		for _, problem := range imageRefProblems(from) {
			t.Errorf("Dockerfile FROM: %s", problem)
		}
	}

	goVersion := goModVersion(t)
	builder := froms[0]
	if !strings.HasPrefix(builder, "golang:"+goVersion+".") && !strings.HasPrefix(builder, "golang:"+goVersion+"-") {
		t.Errorf("Dockerfile builds FROM %s, want golang:%s.x, the Go of go.mod", builder, goVersion)
	}

	if len(users) == 0 {
		t.Errorf("the runtime stage (FROM %s) sets no USER; say which non-root user runs the program", froms[len(froms)-1])
	}
	for _, user := range users {
		if u := strings.SplitN(user, ":", 2)[0]; u == "root" || u == "0" {
			t.Errorf("the runtime stage runs as USER %s, want a non-root user", user)
		}
	}
	if !copiesProbe {
		t.Errorf("the Dockerfile does not COPY the health probe to %s, which the health checks call", healthProbe)
	}
}

// goModVersion is the tutorial's Go minor version ("1.26") from go.mod.
func goModVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}
