package docs

import (
	"cmp"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tracing-tutorial/tutorial/internal/e2e"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
	"github.com/tracing-tutorial/tutorial/internal/topology"
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
		t.Run(step.Profile(), func(t *testing.T) {
			// The misbehaviour of step 2 on: the READMEs show it.
			wild := step.Profile()
			if len(step.Programs) > 1 {
				wild = "cleaner"
			}
			stack, problems := lesson.Start(t, step.Number, filepath.Join(root(t), step.Dir),
				lesson.Options{ProgramEnv: map[string]map[string]string{wild: {"BAD_THINGS": "on"}}})
			if problems != nil {
				t.Fatal(problems)
			}
			r := &readmeRun{t: t, stack: stack, trace: trace, ids: map[string]string{}}
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
	stack    *lesson.Stack
	trace    string            // cmd/trace, built
	ids      map[string]string // trace IDs by repository, and "that": the last X-Trace-Id
	compared int
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
			case sh && runnable(block):
				pending, after = block, "ran"
			case sh:
				after = "skipped"
			case skipNext || after == "skipped":
				after = ""
			case after == "ran":
				output := r.runBlock(pending, width(block))
				r.compare(block, output, strings.Join(pending, "; "))
				pending, after = nil, ""
			case plain:
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
func runnable(block []string) bool {
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

func (r *readmeRun) jaegerURL() string {
	if r.stack.Jaeger == nil {
		return ""
	}
	return r.stack.Jaeger.QueryURL
}

var placeholderID = regexp.MustCompile(`<([a-z-]+/[a-z-]+)'s id>|<that id>`)

// substitute puts this run's addresses, trace IDs and cmd/trace in line.
func (r *readmeRun) substitute(line string) string {
	for i, p := range r.stack.Step.Programs {
		name := strings.TrimPrefix(p.Service, r.stack.Step.Profile()+"-")
		host := strings.TrimPrefix(r.stack.URLs[name], "http://")
		line = strings.ReplaceAll(line, "localhost:"+strconv.Itoa(8000+i), host)
	}
	line = strings.ReplaceAll(line, "go run ./cmd/trace", r.trace)
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
	if lost := missing(shown, output); lost != nil {
		r.t.Errorf("%s: the README shows lines it did not print, in shape:\n  %s\nit printed:\n%s",
			command, strings.Join(lost, "\n  "), output)
	}
}

// missing returns the lines of shown whose shape is not in output.
func missing(shown []string, output string) []string {
	printed := map[string]int{}
	for _, line := range strings.Split(output, "\n") {
		printed[shape(line)]++
	}
	var lost []string
	for _, line := range shown {
		s := shape(line)
		if s == "" || strings.Contains(line, "…") && !strings.Contains(line, "/…") && !strings.Contains(line, "… missing") {
			continue // abridged by the README
		}
		if printed[s] > 0 {
			printed[s]--
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
	return lost
}

var (
	idShape       = regexp.MustCompile(`\b[0-9a-f]{16,32}\b|[0-9a-f]{6,}…`)
	durationShape = regexp.MustCompile(`\b\d+(\.\d+)?(µs|ms|s)\b`)
	numberShape   = regexp.MustCompile(`\d+(\.\d+)?`)
)

// shape is a line without what changes from run to run: trace and span
// IDs, durations, numbers, the bars of a waterfall, spacing.
func shape(line string) string {
	line = strings.ReplaceAll(line, "█", " ")
	line = idShape.ReplaceAllString(line, "ID")
	line = durationShape.ReplaceAllString(line, "D")
	line = numberShape.ReplaceAllString(line, "N")
	return strings.Join(strings.Fields(line), " ")
}
