package docs

import (
	"cmp"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/testkit/e2e"
	"github.com/tracing-tutorial/tutorial/internal/testkit/stepsuite"
)

func TestMain(m *testing.M) { os.Exit(e2e.Main(m)) }

// notRun marks, in a README, the block after it as no output of this
// step's code (step 9 shows what step 8's FollowsFrom would do).
const notRun = "<!-- docs: not this step's output -->"

// TestStepREADMEsRun runs, against each step (its programs, the stand-in
// GitHub, a real Jaeger and Redis, on free ports), the commands its README
// tells a learner to run in another terminal: the curl requests and the
// cmd/trace calls, in order, with the ports and trace IDs of this run. What
// the README shows they print is checked in shape: every line of it, IDs,
// numbers and durations aside, is in what they printed; so is each trace
// the README shows, fetched for the request it names. Commands that need
// make run's own runner (go run ./cmd/tutorial, redis-cli on its Redis)
// and make's targets are checked by TestCommandsNameWhatExists, and run
// by the runner's and the workshop's own tests.
func TestStepREADMEsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts every step: not with -short")
	}
	trace := e2e.Build(t, filepath.Join(root(t), "cmd", "trace"))
	for _, step := range topology.Steps() {
		if step.JaegerRoles != "" {
			// Step 11's commands break Jaeger's roles, which only make
			// run's runner starts: cmd/tutorial's TestStep11RunsJaegersRoles
			// and internal/infra/jaeger's TestCheckRoles* run them.
			continue
		}
		t.Run(step.Profile(), func(t *testing.T) {
			// The misbehaviour of step 2 on: the READMEs show it.
			wild := step.Profile()
			if len(step.Programs) > 1 {
				wild = "cleaner"
			}
			stack, problems := stepsuite.Start(t, step.Number, filepath.Join(root(t), step.Dir),
				stepsuite.Options{ProgramEnv: map[string]map[string]string{wild: {"BAD_THINGS": "on"}}})
			if problems != nil {
				t.Fatal(problems)
			}
			r := &readmeRun{t: t, trace: trace, ids: map[string]string{}, hosts: map[string]string{}}
			for i, p := range step.Programs {
				name := strings.TrimPrefix(p.Service, step.Profile()+"-")
				r.hosts["localhost:"+strconv.Itoa(8000+i)] = strings.TrimPrefix(stack.URLs[name], "http://")
			}
			if stack.Jaeger != nil {
				r.jaeger = stack.Jaeger.QueryURL
			}
			r.warmUp(read(t, step.Dir+"/README.md"))
			r.run(read(t, step.Dir+"/README.md"))
			if r.compared == 0 && step.Number >= 2 {
				t.Errorf("%s/README.md: no output compared: the test lost track of its blocks", step.Dir)
			}
		})
	}
}

type readmeRun struct {
	t        *testing.T
	hosts    map[string]string // this run's host:port for the README's ("localhost:8000")
	jaeger   string            // Jaeger's query URL
	trace    string            // cmd/trace, built
	ids      map[string]string // trace IDs by repository, and "that": the last X-Trace-Id
	compared int
	// background is where commands left running print (a request that
	// waits for the cleaner the block stopped).
	background string
	// With make run's runner: its commands, and only the blocks that
	// need it, run.
	runner *runner
}

// runner is make run's, for the blocks that need it.
type runner struct {
	tutorial  string // cmd/tutorial, built
	pid       int
	redisPort int
}

var (
	repoInText = regexp.MustCompile("`([a-z-]+/[a-z-]+)`")
	repoInURL  = regexp.MustCompile(`/git/([a-z-]+/[a-z-]+)`)
	pairRepos  = regexp.MustCompile(`for repo in ([a-z/ -]+); do`)
)

// warmUp asks once for every repository the README asks for, as make run
// does (cmd/tutorial's warmUp): the stand-in's first answer for one is a
// 202, which the README's traces do not show.
func (r *readmeRun) warmUp(readme string) {
	repos := map[string]bool{}
	for _, m := range repoInURL.FindAllStringSubmatch(readme, -1) {
		repos[m[1]] = true
	}
	for _, m := range pairRepos.FindAllStringSubmatch(readme, -1) {
		for _, repo := range strings.Fields(m[1]) {
			repos[repo] = true
		}
	}
	for repo := range repos {
		r.shell("curl -s -o /dev/null localhost:8000/git/"+repo, 0)
	}
}

// run walks the README: each sh block it can run, with the plain block
// right after it as what it prints; and each trace shown elsewhere.
func (r *readmeRun) run(readme string) {
	var (
		fence, sh bool
		plain     bool // a block of output, no language
		block     []string
		pending   []string // an sh block that runs once the next block says how wide
		after     string   // what came just before: "ran", "skipped" (an sh block) or ""
		skipNext  bool
		paragraph []string // the prose before a block
	)
	flush := func() {
		if pending != nil {
			r.runBlock(pending, 0)
			pending = nil
		}
	}
	for _, line := range strings.Split(readme, "\n") {
		switch {
		case strings.HasPrefix(line, "```") && !fence:
			fence, sh, plain, block = true, line == "```sh", line == "```", nil
			if sh {
				flush()
			}
		case strings.HasPrefix(line, "```"):
			fence = false
			switch {
			case sh && r.runnable(block):
				pending, after = block, "ran"
			case sh:
				after = "skipped"
			case skipNext || after == "skipped":
				after = ""
			case after == "ran":
				output := r.runBlock(pending, width(block))
				r.compare(block, output, strings.Join(pending, "; "))
				pending, after = nil, ""
			case plain && r.runner == nil: // TestStepREADMEsRun's
				flush()
				r.compareTrace(block, paragraph)
			default:
				flush()
			}
			skipNext, paragraph = false, nil
		case fence:
			block = append(block, line)
		case strings.TrimSpace(line) == notRun:
			skipNext = true
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "#"):
			flush()
			paragraph, after = nil, ""
			if r.runner != nil {
				r.mend() // a new section starts from a whole step
			}
		default:
			flush()
			paragraph, after = append(paragraph, line), ""
		}
	}
	flush()
}

// runnable: every line of an sh block is a request, a cmd/trace call or
// make run (which the test's own stack stands in for). Any other command
// (make's other targets, the runner's, redis-cli) changes or needs what
// this test does not run: the block is left out, with what it prints.
func (r *readmeRun) runnable(block []string) bool {
	if r.runner != nil {
		// Only what needs the runner: TestStepREADMEsRun runs the rest.
		return slices.ContainsFunc(block, func(line string) bool { return strings.HasPrefix(line, "go run ./cmd/tutorial ") })
	}
	for _, line := range block {
		if strings.HasPrefix(line, "make run ") {
			continue
		}
		for _, cmd := range split(line) {
			switch cmd[0] {
			case "curl", "time", "sleep", "wait", "for", "do", "done", "tr", "sed", "grep", "head":
			case "go":
				if !strings.HasPrefix(line, "go run ./cmd/trace") {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

// runBlock runs an sh block's lines but make run, cmd/trace as wide as
// width (0: 120 columns), and returns what they printed.
func (r *readmeRun) runBlock(block []string, width int) string {
	var out strings.Builder
	for _, line := range block {
		if !strings.HasPrefix(line, "make run ") {
			out.WriteString(r.shell(line, cmp.Or(width, 120)))
		}
	}
	// What a command left in the background printed meanwhile, as in the
	// learner's terminal.
	if r.background != "" {
		data, _ := os.ReadFile(r.background)
		out.Write(data)
		os.WriteFile(r.background, nil, 0o600)
	}
	return out.String()
}

// width is the widest line of a block.
func width(block []string) int {
	w := 0
	for _, line := range block {
		w = max(w, utf8.RuneCountInString(line))
	}
	return w
}

// shell runs line in bash, with this run's ports, IDs and cmd/trace, and
// returns its output; width is cmd/trace's.
func (r *readmeRun) shell(line string, width int) string {
	r.t.Helper()
	line, _, _ = strings.Cut(line, "  #") // the README's comments
	line = r.substitute(line)
	if strings.HasSuffix(strings.TrimSpace(line), "&") {
		if r.background == "" {
			r.background = filepath.Join(r.t.TempDir(), "background")
		}
		line = strings.TrimSuffix(strings.TrimSpace(line), "&") + " >>" + r.background + " 2>&1 &"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Env = append(os.Environ(), "JAEGER_QUERY_URL="+r.jaegerURL(), "COLUMNS="+strconv.Itoa(width), "NO_COLOR=1")
	if strings.Contains(line, r.trace) {
		time.Sleep(time.Second) // the last spans may still be on their way to Jaeger
	}
	output, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(line, "grep") {
		r.t.Errorf("%s: %v\n%s", line, err, output)
	}
	r.noteIDs(line, string(output))
	return string(output)
}

func (r *readmeRun) jaegerURL() string { return r.jaeger }

var tutorialCommand = regexp.MustCompile(`go run \./cmd/tutorial (\w+)( [\w-]+)?`)

// mend starts again whatever a section before left stopped or paused, as
// the README's prose tells the learner to.
func (r *readmeRun) mend() {
	r.t.Helper()
	status := r.shell("go run ./cmd/tutorial status", 0)
	for _, m := range regexp.MustCompile(`(?m)^  (\w+) +(stopped|paused)`).FindAllStringSubmatch(status, -1) {
		verb := "start"
		if m[2] == "paused" {
			verb = "resume"
		}
		r.shell("go run ./cmd/tutorial "+verb+" "+m[1], 0)
	}
}

var placeholderID = regexp.MustCompile(`<([a-z-]+/[a-z-]+)'s id>|<that id>`)

// substitute puts this run's addresses, trace IDs and cmd/trace in line.
func (r *readmeRun) substitute(line string) string {
	for readme, host := range r.hosts {
		line = strings.ReplaceAll(line, readme, host)
	}
	line = strings.ReplaceAll(line, "go run ./cmd/trace", r.trace)
	line = traceID.ReplaceAllStringFunc(line, func(id string) string { return cmp.Or(r.ids[id], id) })
	if r.runner != nil {
		pid := " -pid " + strconv.Itoa(r.runner.pid)
		line = tutorialCommand.ReplaceAllString(line, r.runner.tutorial+" $1$2"+pid)
		line = strings.ReplaceAll(line, "redis-cli ", "redis-cli -p "+strconv.Itoa(r.runner.redisPort)+" ")
	}
	return placeholderID.ReplaceAllStringFunc(line, func(p string) string {
		key := "that"
		if m := placeholderID.FindStringSubmatch(p); m[1] != "" {
			key = m[1]
		}
		if r.ids[key] == "" {
			r.t.Errorf("%s: no trace ID for %s yet", line, key)
		}
		return r.ids[key]
	})
}

var (
	repoAndID  = regexp.MustCompile(`(?m)^([a-z-]+/[a-z-]+) ([0-9a-f]{32})$`)
	xTraceID   = regexp.MustCompile(`(?mi)^X-Trace-Id: ([0-9a-f]{32})`)
	shownTrace = regexp.MustCompile(`^Trace ([0-9a-f]{32})`)
)

// noteIDs keeps the trace IDs a command printed.
func (r *readmeRun) noteIDs(line, output string) {
	for _, m := range repoAndID.FindAllStringSubmatch(output, -1) {
		r.ids[m[1]] = m[2]
	}
	if m := xTraceID.FindStringSubmatch(output); m != nil {
		r.ids["that"] = m[1]
		if repo := repoInURL.FindStringSubmatch(line); repo != nil {
			r.ids[repo[1]] = m[1]
		}
	}
}

// compareTrace checks a trace the README shows outside an sh block's
// output against this run's trace of the request the prose before it
// names (or, naming none, the last one sent with its X-Trace-Id shown).
func (r *readmeRun) compareTrace(block, paragraph []string) {
	if !slices.ContainsFunc(block, isRow) {
		return // a log, a header, JSON: no trace
	}
	key := "that"
	for _, line := range slices.Backward(paragraph) {
		if m := repoInText.FindStringSubmatch(line); m != nil {
			key = m[1]
			break
		}
	}
	id := r.ids[key]
	if id == "" {
		r.t.Errorf("a trace the README shows for %s, which no command asked for:\n%s", key, strings.Join(block, "\n"))
		return
	}
	args := []string{id}
	for _, line := range block {
		if strings.Contains(treeIndent.ReplaceAllString(line, ""), "=") {
			args = []string{"-details", id}
			break
		}
	}
	// As wide as the README's, which shortens names alike; an abridged
	// tree without timings, wide enough for whole names.
	w := 120
	if slices.ContainsFunc(block, timings.MatchString) {
		w = width(block)
	}
	cmd := exec.Command(r.trace, append([]string{"-width", strconv.Itoa(w), "-color", "never"}, args...)...)
	cmd.Env = append(os.Environ(), "JAEGER_QUERY_URL="+r.jaegerURL())
	var output []byte
	// The last spans may still be on their way to Jaeger.
	for start := time.Now(); ; time.Sleep(500 * time.Millisecond) {
		output, _ = cmd.CombinedOutput()
		if missing(block, string(output)) == nil || time.Since(start) > 10*time.Second {
			break
		}
		cmd = exec.Command(cmd.Path, cmd.Args[1:]...)
		cmd.Env = append(os.Environ(), "JAEGER_QUERY_URL="+r.jaegerURL())
	}
	r.compare(block, string(output), "go run ./cmd/trace "+strings.Join(args, " "))
}

func isRow(line string) bool {
	fields := strings.Fields(treeIndent.ReplaceAllString(line, ""))
	return len(fields) >= 2 && (fields[0] == "gateway" || fields[0] == "contributors" || fields[0] == "cleaner") ||
		shownTrace.MatchString(line)
}

// compare checks that every line the README shows is, in shape, in what
// the command printed.
func (r *readmeRun) compare(shown []string, output, command string) {
	r.compared++
	lost, ids := match(shown, output)
	for readme, run := range ids {
		r.ids[readme] = run // a README's own ID, as a later command names it
	}
	if lost != nil {
		r.t.Errorf("%s: the README shows lines it did not print, in shape:\n  %s\nit printed:\n%s",
			command, strings.Join(lost, "\n  "), output)
	}
}

// missing returns the lines of shown whose shape is not in output.
func missing(shown []string, output string) []string {
	lost, _ := match(shown, output)
	return lost
}

var traceID = regexp.MustCompile(`\b[0-9a-f]{32}\b`)

// match returns the lines of shown whose shape is not in output, and
// which trace ID of the output each trace ID of shown stands for.
func match(shown []string, output string) ([]string, map[string]string) {
	printed := map[string][]string{}
	for _, line := range strings.Split(output, "\n") {
		printed[shape(line)] = append(printed[shape(line)], line)
	}
	var lost []string
	ids := map[string]string{}
	for _, line := range shown {
		s := shape(line)
		if s == "" || strings.Contains(line, "…") && !strings.Contains(line, "/…") && !strings.Contains(line, "… missing") {
			continue // abridged by the README
		}
		if same := printed[s]; len(same) > 0 {
			readme, run := traceID.FindAllString(line, -1), traceID.FindAllString(same[0], -1)
			for i := range min(len(readme), len(run)) {
				ids[readme[i]] = run[i]
			}
			printed[s] = same[1:]
			continue
		}
		// An abridged row, the operation without its timings.
		if isRow(line) && !timings.MatchString(line) && slices.ContainsFunc(strings.Split(output, "\n"), func(p string) bool {
			return strings.HasPrefix(shape(p), s+" ")
		}) {
			continue
		}
		lost = append(lost, line)
	}
	return lost, ids
}

var (
	idShape       = regexp.MustCompile(`\b[0-9a-f]{16,32}\b|[0-9a-f]{6,}…`)
	durationShape = regexp.MustCompile(`\b\d+(\.\d+)?(µs|ms|s)\b`)
	addressShape  = regexp.MustCompile(`\b\d+\.\d+\.\d+\.\d+:\d+\b`)
	pidShape      = regexp.MustCompile(`\bpid \d+`)
	// A Redis stream entry's ID: milliseconds, a dash, a sequence number.
	streamIDShape = regexp.MustCompile(`\b\d{13}-\d+\b`)
)

// shape is a line without what changes from run to run: trace and span
// IDs, durations, addresses, pids and stream IDs, the bars of a waterfall, spacing.
// Other numbers (statuses, counts of spans and contributors) stay.
func shape(line string) string {
	line = strings.ReplaceAll(line, "█", " ")
	line = idShape.ReplaceAllString(line, "ID")
	line = durationShape.ReplaceAllString(line, "D")
	line = addressShape.ReplaceAllString(line, "ADDR")
	line = pidShape.ReplaceAllString(line, "pid N")
	line = streamIDShape.ReplaceAllString(line, "STREAM-ID")
	return strings.Join(strings.Fields(line), " ")
}

// TestRunnerBlocksRun runs, against make run's own runner, the blocks of
// the documents that need it (go run ./cmd/tutorial breaking a part, and
// what the trace then shows): step 6's README, and docs/failures.md's
// drills on step 7. Whatever a block leaves stopped is started again
// before the next section, as the prose tells the learner.
func TestRunnerBlocksRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts make run's runner: not with -short")
	}
	if _, err := exec.LookPath("redis-server"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("NOT RUN: no redis-server (steps 6 and 7 need it): sudo apt-get install redis-server, or brew install redis")
	}
	tutorial := e2e.Build(t, filepath.Join(root(t), "cmd", "tutorial"))
	trace := e2e.Build(t, filepath.Join(root(t), "cmd", "trace"))
	for _, tc := range []struct {
		doc  string
		step int
	}{
		{"step6-distributed-single-span/README.md", 6},
		{"docs/failures.md", 7},
	} {
		t.Run(tc.doc, func(t *testing.T) {
			base := consecutivePorts(t, 3)
			jaegerPort, redisPort := e2e.FreePort(t), e2e.FreePort(t)
			cmd := exec.Command(tutorial, "run", "-port", strconv.Itoa(base), "-jaeger-port", strconv.Itoa(jaegerPort),
				"-collector-port", "0", "-agent-port", "0", "-redis-port", strconv.Itoa(redisPort),
				"-github-port", strconv.Itoa(e2e.FreePort(t)), "-color", "never", strconv.Itoa(tc.step))
			cmd.Dir = root(t) // where make runs it
			cmd.Env = append(os.Environ(), "NO_COLOR=1", "COLUMNS=120")
			var out lockedBuffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Signal(os.Interrupt)
				done := make(chan struct{})
				go func() { cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(time.Minute):
					cmd.Process.Kill()
				}
				if t.Failed() {
					t.Logf("make run's output:\n%s", out.String())
				}
			})
			for start := time.Now(); !strings.Contains(out.String(), "Ctrl-C stops everything."); time.Sleep(100 * time.Millisecond) {
				if time.Since(start) > 3*time.Minute {
					t.Fatalf("make run STEP=%d not ready after 3 minutes:\n%s", tc.step, out.String())
				}
			}
			r := &readmeRun{t: t, trace: trace, ids: map[string]string{}, hosts: map[string]string{},
				jaeger: "http://127.0.0.1:" + strconv.Itoa(jaegerPort),
				runner: &runner{tutorial: tutorial, pid: cmd.Process.Pid, redisPort: redisPort}}
			for i := range 3 {
				r.hosts["localhost:"+strconv.Itoa(8000+i)] = "127.0.0.1:" + strconv.Itoa(base+i)
			}
			r.run(read(t, tc.doc))
			if r.compared == 0 {
				t.Errorf("%s: no block compared", tc.doc)
			}
		})
	}
}

// consecutivePorts returns the first of n consecutive free ports.
func consecutivePorts(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		first, free := e2e.FreePort(t), true
		for port := first + 1; free && port < first+n; port++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if free = err == nil; free {
				l.Close()
			}
		}
		if free {
			return first
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

// lockedBuffer is a process's output, read while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
