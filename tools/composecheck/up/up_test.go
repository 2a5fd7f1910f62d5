// Package up runs docker-compose.yml on a real Docker engine: for every
// step's profile (internal/infra/topology), `up --build --wait`, the example
// request and its trace in Jaeger, the published ports, and `down`.
//
// Without an engine it skips and says what it did not run, except in CI
// (CI=true), where that is a failure. `make test` runs it with -v, so that
// its figures and any stand-in images show.
package up

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/testkit/contracttest"
	"github.com/tracing-tutorial/tutorial/tools/composecheck/dockerenv"
)

const (
	// upTimeout bounds `up --build --wait`: the first profile builds
	// the builder's layers (go mod download) and its images from nothing.
	upTimeout = 10 * time.Minute
	// waitTimeout bounds the wait for health alone (--wait-timeout).
	waitTimeout = 90 * time.Second
	// warmUpLimit is what `up --wait` of the last step may take once its
	// images are built, on any engine (Engine 20.10 included).
	warmUpLimit = 20 * time.Second
	downTimeout = 2 * time.Minute

	jaegerUI = "http://127.0.0.1:16686"
)

// compose runs docker compose on the repository's docker-compose.yml, with
// the stand-in GitHub whatever the shell or a .env file says.
type compose struct {
	root, project, envFile string
	env                    []string
}

func newCompose(t *testing.T) *compose {
	root, err := dockerenv.Root()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^name:\s*(\S+)`).FindSubmatch(data)
	if m == nil {
		t.Fatal("docker-compose.yml has no top-level name")
	}
	// An empty env file instead of a learner's .env (real GitHub, a token).
	envFile := filepath.Join(t.TempDir(), "empty.env")
	if err := os.WriteFile(envFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		switch key {
		case "GITHUB_API_URL", "GITHUB_TOKEN", "GOPROXY", "COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "COMPOSE_FILE":
			continue
		}
		env = append(env, kv)
	}
	// The builder downloads modules from the proxy this machine's go uses.
	if out, err := exec.Command("go", "env", "GOPROXY").Output(); err == nil {
		env = append(env, "GOPROXY="+strings.TrimSpace(string(out)))
	}
	return &compose{root: root, project: string(m[1]), envFile: envFile, env: env}
}

// run runs docker compose args and returns its combined output.
func (c *compose) run(ctx context.Context, args ...string) (string, error) {
	args = append([]string{"compose", "--project-directory", c.root, "-f", filepath.Join(c.root, "docker-compose.yml"), "--env-file", c.envFile}, args...)
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = c.env
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return string(out), err
}

// leftovers lists the project's containers, networks and volumes, and the
// volumes that are not in before (image volumes carry no project label).
func (c *compose) leftovers(ctx context.Context, before map[string]bool) []string {
	var found []string
	filter := "label=com.docker.compose.project=" + c.project
	for _, kind := range [][]string{
		{"container", "ls", "--all", "--filter", filter, "--format", "{{.Names}}"},
		{"network", "ls", "--filter", filter, "--format", "{{.Name}}"},
		{"volume", "ls", "--filter", filter, "--format", "{{.Name}}"},
	} {
		out, err := dockerenv.Docker(ctx, kind...)
		if err != nil {
			found = append(found, err.Error())
		}
		for _, name := range strings.Fields(out) {
			found = append(found, kind[0]+" "+name)
		}
	}
	for name := range volumes(ctx) {
		if !before[name] {
			found = append(found, "volume "+name+" (new since up)")
		}
	}
	sort.Strings(found)
	return slices.Compact(found)
}

func volumes(ctx context.Context) map[string]bool {
	out, _ := dockerenv.Docker(ctx, "volume", "ls", "--quiet")
	set := map[string]bool{}
	for _, name := range strings.Fields(out) {
		set[name] = true
	}
	return set
}

// published lists every published port of the project's running
// containers: "step7-gateway 8000/tcp -> 127.0.0.1:8000".
type binding struct {
	container, port, hostIP, hostPort string
}

func (c *compose) published(ctx context.Context) ([]binding, error) {
	ids, err := dockerenv.Docker(ctx, "container", "ls", "--quiet", "--filter", "label=com.docker.compose.project="+c.project)
	if err != nil || ids == "" {
		return nil, err
	}
	out, err := dockerenv.Docker(ctx, append([]string{"container", "inspect"}, strings.Fields(ids)...)...)
	if err != nil {
		return nil, err
	}
	var containers []struct {
		Name            string
		NetworkSettings struct {
			Ports map[string][]struct{ HostIp, HostPort string }
		}
	}
	if err := json.Unmarshal([]byte(out), &containers); err != nil {
		return nil, err
	}
	var bindings []binding
	for _, ctr := range containers {
		for port, binds := range ctr.NetworkSettings.Ports {
			for _, b := range binds {
				bindings = append(bindings, binding{strings.TrimPrefix(ctr.Name, "/"), port, b.HostIp, b.HostPort})
			}
		}
	}
	return bindings, nil
}

// result is what one profile measured.
type result struct {
	profile   string
	up, down  time.Duration
	traceSize string
}

func TestComposeUp(t *testing.T) {
	ctx := t.Context()
	engine, err := dockerenv.Engine(ctx)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, and %v: the docker compose tests must run in CI (scripts/install-docker installs and starts the engine)", err)
		}
		t.Skipf("NOT RUN: the docker compose tests (for every step's profile: up --build --wait, the example request and its trace, the published ports, down), because %v. Install or start Docker to run them (`make deps` installs compose and buildx if it has none).", err)
	}
	t.Logf("Docker Engine %s", engine)
	if dockerenv.StartIntervalIgnored(engine) {
		t.Logf("Engine %s is older than 25: it ignores healthcheck.start_interval and checks every interval", engine)
	}
	progress := logWriter{t}
	report, err := dockerenv.Plugins(ctx, progress)
	for _, line := range report {
		t.Log(line)
	}
	if errors.Is(err, dockerenv.ErrNotAsked) {
		t.Skipf("NOT RUN: the docker compose tests, because %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	images, err := dockerenv.BaseImages(ctx, progress)
	var standIns []string
	for _, image := range images {
		t.Log(image)
		if image.StandIn != "" {
			standIns = append(standIns, image.Ref)
		}
	}
	if err != nil {
		t.Fatal(err)
	}

	c := newCompose(t)
	if left := c.leftovers(ctx, volumes(ctx)); len(left) > 0 {
		t.Fatalf("the compose project %s is already there (%s): stop it first with docker compose --profile '*' down", c.project, strings.Join(left, ", "))
	}
	steps := topology.Steps()
	for _, step := range steps {
		for _, p := range step.Programs {
			if p.Public {
				checkFree(t, p.Port)
			}
		}
	}
	checkFree(t, 16686)

	start := time.Now()
	var results []result
	for _, step := range steps {
		var r result
		// Each profile's clean-up brings it down whatever happened, so a
		// failure does not stop the next.
		t.Run(step.Profile(), func(t *testing.T) { r = testProfile(t, c, step) })
		if r.profile != "" {
			results = append(results, r)
		}
	}

	last := steps[len(steps)-1]
	var warm time.Duration
	t.Run("warm "+last.Profile(), func(t *testing.T) { warm = testWarmUp(t, c, last) })

	t.Logf("docker compose test: %s in all, Engine %s", time.Since(start).Round(time.Second), engine)
	for _, r := range results {
		t.Logf("  --profile %s: up --build --wait %s, down %s%s", r.profile, r.up.Round(100*time.Millisecond), r.down.Round(100*time.Millisecond), r.traceSize)
	}
	if warm > 0 {
		t.Logf("  --profile %s again, images built: up --wait %s", last.Profile(), warm.Round(100*time.Millisecond))
	}
	if sizes, err := dockerenv.Docker(ctx, "image", "ls", "--filter", "reference="+c.project+"-*", "--format", "{{.Repository}}\t{{.Size}}"); err == nil {
		lines := strings.Split(sizes, "\n")
		sort.Strings(lines)
		t.Logf("  our images:\n    %s", strings.Join(lines, "\n    "))
	}
	if len(standIns) > 0 {
		t.Logf("  ran on STAND-IN base images (labelled %s), made here because no registry answered: %s", dockerenv.StandInLabel, strings.Join(standIns, ", "))
	}
}

// testProfile brings one step up, checks it, and brings it down.
func testProfile(t *testing.T, c *compose, step topology.Step) result {
	ctx := t.Context()
	r := result{}
	volumesBefore := volumes(ctx)
	t.Cleanup(func() {
		// Whatever happened, leave nothing running for the next profile.
		ctx, cancel := context.WithTimeout(context.Background(), downTimeout)
		defer cancel()
		if t.Failed() {
			logs, _ := c.run(ctx, "--profile", step.Profile(), "logs", "--no-color", "--tail", "40")
			t.Logf("the services' last log lines:\n%s", logs)
		}
		c.run(ctx, "--profile", step.Profile(), "down", "--volumes", "--remove-orphans", "--timeout", "3")
	})

	// Another program on a port we publish (make run, say) would make up
	// fail with a message about a "userland proxy".
	for _, p := range step.Programs {
		if p.Public {
			checkFree(t, p.Port)
		}
	}
	if step.NeedsJaeger() {
		checkFree(t, 16686)
	}

	upCtx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	start := time.Now()
	out, err := c.run(upCtx, "--profile", step.Profile(), "up", "--build", "--wait", "--wait-timeout", strconv.Itoa(int(waitTimeout.Seconds())))
	r.up = time.Since(start)
	if err != nil {
		t.Fatalf("docker compose --profile %s up --build --wait: %v (after %s)\n%s", step.Profile(), err, r.up.Round(time.Second), lastLines(out, 60))
	}
	t.Logf("up --build --wait: %s", r.up.Round(100*time.Millisecond))

	checkPorts(t, c, step)

	var public topology.Program
	for _, p := range step.Programs {
		if p.Public {
			public = p
		}
	}
	traceID := checkRequest(t, public.Port)
	if step.JaegerRoles != "" && step.Number >= 12 {
		traceID = keptTrace(t, public.Port)
	}
	if step.NeedsJaeger() {
		r.traceSize = checkTrace(t, step, traceID)
	}
	checkHealthLogs(t, c, step)
	if step.Number == 7 {
		checkStopAnswers(t, c, step)
	}

	downCtx, cancel := context.WithTimeout(ctx, downTimeout)
	defer cancel()
	start = time.Now()
	out, err = c.run(downCtx, "--profile", step.Profile(), "down")
	r.down = time.Since(start)
	r.profile = step.Profile() // measured, though it may have failed a check
	if err != nil {
		t.Fatalf("docker compose --profile %s down: %v\n%s", step.Profile(), err, lastLines(out, 30))
	}
	if left := c.leftovers(ctx, volumesBefore); len(left) > 0 {
		t.Errorf("down left behind: %s", strings.Join(left, ", "))
	}
	return r
}

// checkStopAnswers: `docker compose stop` of the gateway while a request
// waits for the cleaner (stopped first) does not cut the request off. The
// gateway answers it, a 504 once the job's deadline has passed (15 s), and
// then exits; compose must wait that long before its SIGKILL
// (stop_grace_period, 10 s unless set).
func checkStopAnswers(t *testing.T, c *compose, step topology.Step) {
	ctx := t.Context()
	var gateway, cleaner topology.Program
	for _, p := range step.Programs {
		switch {
		case p.Public:
			gateway = p
		case strings.HasSuffix(p.Service, "-cleaner"):
			cleaner = p
		}
	}
	if gateway.Service == "" || cleaner.Service == "" {
		t.Fatalf("%s: no gateway or no cleaner in internal/infra/topology", step.Profile())
	}
	if out, err := c.run(ctx, "--profile", step.Profile(), "stop", cleaner.Service); err != nil {
		t.Fatalf("docker compose stop %s: %v\n%s", cleaner.Service, err, lastLines(out, 20))
	}
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	url := fmt.Sprintf("http://127.0.0.1:%d/git/golang/go", gateway.Port)
	go func() {
		client := &http.Client{Timeout: time.Minute, Transport: noKeepAlive()}
		resp, err := client.Get(url)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		answered <- answer{status: resp.StatusCode, body: string(body), err: err}
	}()
	// Stop the gateway once the request waits for the cleaner: its job is
	// on the queue, and stays there (no cleaner takes it).
	queued := time.Now()
	for {
		out, err := c.run(ctx, "--profile", step.Profile(), "exec", "-T", "redis", "redis-cli", "XLEN", "contributors:jobs")
		if err == nil && strings.TrimSpace(out) == "1" {
			break
		}
		if time.Since(queued) > 10*time.Second {
			t.Fatalf("GET %s with the cleaner stopped: no job on the queue after 10 s (XLEN contributors:jobs: %q, %v)", url, strings.TrimSpace(out), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	start := time.Now()
	out, err := c.run(ctx, "--profile", step.Profile(), "stop", gateway.Service)
	if err != nil {
		t.Fatalf("docker compose stop %s: %v\n%s", gateway.Service, err, lastLines(out, 20))
	}
	stopped := time.Since(start)
	a := <-answered
	if a.err != nil {
		t.Fatalf("GET %s, with `docker compose stop %s` during it (it stopped in %s): %v; want the gateway's answer: is its stop_grace_period shorter than its drain?",
			url, gateway.Service, stopped.Round(100*time.Millisecond), a.err)
	}
	if a.status != http.StatusGatewayTimeout || !strings.Contains(a.body, "the cleaner did not answer in time") {
		t.Errorf("GET %s with the cleaner stopped: %d %s, want 504 and the cleaner did not answer in time", url, a.status, a.body)
	}
	// The answer came after the job's deadline, which compose's default
	// grace period would not have waited for.
	if stopped <= 10*time.Second {
		t.Errorf("docker compose stop %s took %s: the gateway cannot have waited for its request (the job's deadline is 15 s)", gateway.Service, stopped.Round(100*time.Millisecond))
	}
	t.Logf("docker compose stop %s during a request: answered %d, stopped in %s", gateway.Service, a.status, stopped.Round(100*time.Millisecond))
}

// checkPorts: every published port binds 127.0.0.1, and the public
// program and (from step 3) Jaeger's UI are published.
func checkPorts(t *testing.T, c *compose, step topology.Step) {
	bindings, err := c.published(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, p := range step.Programs {
		if p.Public {
			want[strconv.Itoa(p.Port)] = true
		}
	}
	if step.NeedsJaeger() {
		want["16686"] = true
	}
	for _, b := range bindings {
		if b.hostIP != "127.0.0.1" {
			t.Errorf("%s publishes %s on %q:%s: every published port must bind 127.0.0.1 only", b.container, b.port, b.hostIP, b.hostPort)
		}
		delete(want, b.hostPort)
	}
	for port := range want {
		t.Errorf("nothing publishes 127.0.0.1:%s (published: %v)", port, bindings)
	}
}

// checkRequest sends the README's example request and checks the
// contract's answer. It returns the X-Trace-Id header.
func checkRequest(t *testing.T, port int) string {
	url := fmt.Sprintf("http://127.0.0.1:%d/git/golang/go", port)
	client := &http.Client{Timeout: 30 * time.Second, Transport: noKeepAlive()}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s, want 200 application/json\n%s", url, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var got contracttest.Response
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, body)
	}
	if want := contracttest.Expected("golang", "go"); got.Repo != "golang/go" || !slices.Equal(got.Contributors, want) {
		t.Errorf("GET %s =\n%s\nwant repo golang/go and contributors %v", url, body, want)
	}
	return resp.Header.Get("X-Trace-Id")
}

// keptTrace sends requests until the collector's tail sampler (step 12
// on) has kept one's trace, as it keeps the slow ones and a tenth of the
// rest, and returns its ID.
func keptTrace(t *testing.T, port int) string {
	client := &http.Client{Timeout: 30 * time.Second, Transport: noKeepAlive()}
	query := &jaeger.Client{QueryURL: jaegerUI, HTTP: &http.Client{Timeout: 5 * time.Second, Transport: noKeepAlive()}}
	var ids []string
	for i := range 40 {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/git/golang/go%d", port, i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ids = append(ids, resp.Header.Get("X-Trace-Id"))
	}
	time.Sleep(8 * time.Second) // the tail sampler's decision_wait (5 s), the batches
	for _, id := range ids {
		if _, err := query.Trace(t.Context(), id); err == nil {
			return id
		}
	}
	t.Fatalf("the tail sampler kept none of 40 requests' traces")
	return ""
}

// checkTrace reads the request's trace back from Jaeger's API through the
// published port: it must hold a span of every program that traces.
func checkTrace(t *testing.T, step topology.Step, traceID string) string {
	if traceID == "" {
		t.Fatalf("the answer has no X-Trace-Id header")
	}
	var traced []string // Jaeger's service names: "gateway" in steps 3-5
	for _, p := range step.Programs {
		_, jaegerClient := p.Env["JAEGER_ENDPOINT"]
		_, otelSDK := p.Env["OTEL_EXPORTER_OTLP_ENDPOINT"] // step 9
		if jaegerClient || otelSDK {
			traced = append(traced, strings.TrimPrefix(p.Service, step.Profile()+"-"))
		}
	}
	services := func(trace jaeger.Trace) []string {
		var names []string
		for _, s := range trace.Spans {
			names = append(names, trace.ServiceName(s))
		}
		sort.Strings(names)
		return slices.Compact(names)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client := &jaeger.Client{QueryURL: jaegerUI, HTTP: &http.Client{Timeout: 5 * time.Second, Transport: noKeepAlive()}}
	trace, err := client.WaitForTrace(ctx, traceID, func(trace jaeger.Trace) bool { return len(services(trace)) >= len(traced) })
	if err != nil {
		t.Fatalf("trace %s from %s/api/traces: %v (want spans of %v)", traceID, jaegerUI, err, traced)
	}
	got := services(trace)
	if len(traced) > 1 {
		for _, name := range traced {
			if !slices.Contains(got, name) {
				t.Errorf("trace %s has spans of %v, want %v", traceID, got, traced)
			}
		}
	}
	t.Logf("trace %s: %d spans of %v", traceID, len(trace.Spans), got)
	return fmt.Sprintf(", trace of %d spans from %s", len(trace.Spans), strings.Join(got, ", "))
}

// checkHealthLogs: the health checks (every 2 s) must not flood the
// services' logs with a line each.
func checkHealthLogs(t *testing.T, c *compose, step topology.Step) {
	logs, err := c.run(t.Context(), "--profile", step.Profile(), "logs", "--no-color")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "/healthz") {
			lines = append(lines, line)
		}
	}
	if len(lines) > 0 {
		t.Errorf("the health checks flood the logs: %d line(s) name /healthz, such as\n%s\n(a program must not log its health checks)", len(lines), lines[0])
	}
}

// testWarmUp times `up --wait` of a step whose images are built.
func testWarmUp(t *testing.T, c *compose, step topology.Step) time.Duration {
	ctx := t.Context()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), downTimeout)
		defer cancel()
		c.run(ctx, "--profile", step.Profile(), "down", "--volumes", "--remove-orphans", "--timeout", "3")
	})
	upCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := c.run(upCtx, "--profile", step.Profile(), "up", "--wait", "--wait-timeout", strconv.Itoa(int(waitTimeout.Seconds())))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("up --wait: %v\n%s", err, lastLines(out, 40))
	}
	if took > warmUpLimit {
		t.Errorf("up --wait took %s once the images were built, want under %s: check the health-check interval in docker-compose.yml", took.Round(100*time.Millisecond), warmUpLimit)
	}
	return took
}

// noKeepAlive: an idle connection of ours would hold up a service's
// graceful stop, and `down` would wait its 10 s for it.
func noKeepAlive() *http.Transport {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DisableKeepAlives = true
	return transport
}

func checkFree(t *testing.T, port int) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("127.0.0.1:%d is taken (make run, or a compose step still up?), and docker compose publishes it: %v", port, err)
	}
	l.Close()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// logWriter passes progress lines to t.Log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
