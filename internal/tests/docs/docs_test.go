package docs

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/lesson"
)

// The limits of issue 18: the front door fits one screen, and a step's
// README is read in a few minutes of its slot.
const (
	frontDoorBeforeSteps = 600   // README.md, before "## The steps"
	frontDoorInAll       = 1_200 // README.md
	stepREADME           = 1_050 // "about 1,000"
)

// pending are make targets that the README names and another branch of
// issue 18 adds to the Makefile (make setup: the check a learner runs at
// home). Remove one from here once the Makefile has it.
var pending = map[string]bool{"setup": true}

// doc is one document, and the step its commands run against (0: any).
type doc struct {
	path string // from the repository's root
	step int
	text string
}

func root(t *testing.T) string {
	t.Helper()
	root, err := paths.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(t), path))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// documents are the README, every step's README, and docs/: failures.md
// runs against step 7, the rest against any step.
func documents(t *testing.T) []doc {
	t.Helper()
	docs := []doc{{path: "README.md"}}
	for _, s := range topology.Steps() {
		docs = append(docs, doc{path: s.Dir + "/README.md", step: s.Number})
	}
	pages, _ := filepath.Glob(filepath.Join(root(t), "docs", "*.md"))
	for _, p := range pages {
		d := doc{path: "docs/" + filepath.Base(p)}
		if d.path == "docs/failures.md" {
			d.step = 7
		}
		docs = append(docs, d)
	}
	for i := range docs {
		docs[i].text = read(t, docs[i].path)
	}
	return docs
}

// words counts as wc -w does, without HTML comments, which nobody reads.
func words(text string) int {
	return len(strings.Fields(regexp.MustCompile(`(?s)<!--.*?-->`).ReplaceAllString(text, "")))
}

func TestREADMEFitsOneScreen(t *testing.T) {
	readme := read(t, "README.md")
	before, _, found := strings.Cut(readme, "\n## The steps")
	if !found {
		t.Fatal(`README.md has no "## The steps"`)
	}
	if n := words(before); n > frontDoorBeforeSteps {
		t.Errorf("README.md: %d words before the steps table, want at most %d: move the rest to docs/", n, frontDoorBeforeSteps)
	}
	if n := words(readme); n > frontDoorInAll {
		t.Errorf("README.md: %d words, want at most %d: move the rest to docs/", n, frontDoorInAll)
	}
}

func TestStepREADMEsAreShort(t *testing.T) {
	for _, s := range topology.Steps() {
		if n := words(read(t, s.Dir+"/README.md")); n > stepREADME {
			t.Errorf("%s/README.md: %d words, want at most about 1,000 (%d): move drills and asides to docs/", s.Dir, n, stepREADME)
		}
	}
}

// TestTryItYourself: from step 3 on, every step's README has its exercise
// where learners look, with the commands, the minutes the exercise
// (internal/lesson) says, and what PASS looks like; and the README's table
// of steps gives the same command and minutes.
func TestTryItYourself(t *testing.T) {
	readme := read(t, "README.md")
	for _, s := range topology.Steps() {
		e, err := lesson.FindExercise(strconv.Itoa(s.Number))
		if err != nil {
			continue // steps 1 and 2: nothing to write yet
		}
		text := read(t, s.Dir+"/README.md")
		_, section, found := strings.Cut(text, "\n## Try it yourself\n")
		if !found {
			t.Errorf("%s/README.md has no \"## Try it yourself\"", s.Dir)
			continue
		}
		section, _, _ = strings.Cut(section, "\n## ")
		promise := fmt.Sprintf("your code keeps step %d's promise.", s.Number)
		if s.JaegerRoles != "" { // the check of Jaeger's configs (cmd/workshop's checkRoles)
			promise = fmt.Sprintf("your configs keep step %d's promise.", s.Number)
		}
		for _, want := range []string{
			fmt.Sprintf("make exercise STEP=%d", s.Number),
			fmt.Sprintf("make check STEP=%d DIR=_exercises/step%d", s.Number, s.Number),
			fmt.Sprintf("%d minutes", e.Minutes),
			fmt.Sprintf("PASS (") /* the check's own line: cmd/workshop */, promise,
		} {
			if !strings.Contains(section, want) {
				t.Errorf("%s/README.md's Try it yourself lacks %q", s.Dir, want)
			}
		}
		if want := fmt.Sprintf("`make exercise STEP=%d` (%d min)", s.Number, e.Minutes); !strings.Contains(readme, want) {
			t.Errorf("README.md's steps table lacks %q", want)
		}
	}
}

// TestArchivedWhereFirstUsed: the first step README that names
// jaeger-client-go says that it is archived.
func TestArchivedWhereFirstUsed(t *testing.T) {
	for _, s := range topology.Steps() {
		text := read(t, s.Dir+"/README.md")
		i := strings.Index(text, "jaeger-client-go")
		if i < 0 {
			continue
		}
		if !strings.Contains(strings.ToLower(text), "archived") {
			t.Errorf("%s/README.md is the first to name jaeger-client-go, and does not say it is archived", s.Dir)
		}
		return
	}
	t.Error("no step README names jaeger-client-go")
}

// TestFiguresHoldToTheCode: figures the READMEs give that the code sets.
func TestFiguresHoldToTheCode(t *testing.T) {
	gateway := topology.Steps()[6].Programs[0] // step 7's
	stop := int((gateway.Drain(nil) + topology.ExitGrace).Seconds())
	if want := fmt.Sprintf("(%d s at\nmost)", stop); !strings.Contains(read(t, "README.md"), want) &&
		!strings.Contains(read(t, "README.md"), strings.ReplaceAll(want, "\n", " ")) {
		t.Errorf("README.md does not say how long Ctrl-C waits at most: %q (the gateway's drain and ExitGrace)", want)
	}
	if want := fmt.Sprintf("%d s: its %d s drain", stop, int(gateway.Drain(nil).Seconds())); !strings.Contains(strings.Join(strings.Fields(read(t, "docs/tutorial.md")), " "), want) {
		t.Errorf("docs/tutorial.md does not say %q", want)
	}

	// Step 6's table of programs and their ports.
	step6 := topology.Steps()[5]
	text := read(t, step6.Dir+"/README.md")
	for _, p := range step6.Programs {
		name := strings.TrimPrefix(p.Service, "step6-")
		if want := fmt.Sprintf("| `%s/` | %d |", name, p.Port); !strings.Contains(text, want) {
			t.Errorf("%s/README.md: the table lacks %q", step6.Dir, want)
		}
	}

	// The viewer that every step's Jaeger serves names no one step.
	if viewer := read(t, "internal/infra/jaeger/ui/index.html"); regexp.MustCompile(`--profile step\d`).MatchString(viewer) {
		t.Error("internal/infra/jaeger/ui/index.html names one step's profile; the viewer serves every step")
	}
}

// TestLinksLeadSomewhere: every relative link of the documents names a
// file that exists and, with #anchor, a heading in it.
func TestLinksLeadSomewhere(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	for _, d := range documents(t) {
		for _, m := range link.FindAllStringSubmatch(d.text, -1) {
			target := m[1]
			if strings.Contains(target, "://") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := d.path
			if file != "" {
				path = filepath.ToSlash(filepath.Join(filepath.Dir(d.path), file))
			}
			full := filepath.Join(root(t), path)
			info, err := os.Stat(full)
			if err != nil {
				t.Errorf("%s: the link %s leads nowhere", d.path, target)
				continue
			}
			if anchor == "" || info.IsDir() {
				continue
			}
			data, _ := os.ReadFile(full)
			if !slices.Contains(anchors(string(data)), anchor) {
				t.Errorf("%s: the link %s: %s has no heading #%s", d.path, target, path, anchor)
			}
		}
	}
}

// anchors are the ids GitHub gives a document's headings.
func anchors(text string) []string {
	var ids []string
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		heading := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(heading) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
				b.WriteRune(r)
			}
		}
		ids = append(ids, b.String())
	}
	return ids
}

// TestCommandsNameWhatExists: every command a document tells a learner to
// run (each line of its sh blocks, and each command in its inline code)
// names a make target and variables the Makefile has, a program, flag and
// part that exist, a port and route the step serves, a queue the step
// uses, a compose profile and service the file defines.
func TestCommandsNameWhatExists(t *testing.T) {
	c := newChecker(t)
	n := 0
	for _, d := range documents(t) {
		for _, line := range commandLines(d.text) {
			for _, cmd := range split(line) {
				n++
				if err := c.check(d.step, cmd); err != nil {
					t.Errorf("%s: %s\n  in: %s", d.path, err, line)
				}
			}
		}
	}
	if n < 100 {
		t.Errorf("%d commands in the documents: the extraction is broken", n)
	}
}

// commandLines are the lines of sh blocks, and inline code that starts
// with a command.
func commandLines(text string) []string {
	var lines []string
	inSh, inCode := false, false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "```"):
			inCode = !inCode
			inSh = inCode && strings.TrimPrefix(line, "```") == "sh"
		case inSh:
			if strings.TrimSpace(line) != "" {
				lines = append(lines, line)
			}
		case !inCode:
			for _, m := range inlineCommand.FindAllStringSubmatch(line, -1) {
				lines = append(lines, m[1])
			}
		}
	}
	// Inline code can wrap across lines in prose: join it.
	var joined []string
	for _, m := range inlineCommand.FindAllStringSubmatch(strings.Join(strings.Fields(stripCode(text)), " "), -1) {
		joined = append(joined, m[1])
	}
	return append(lines, joined...)
}

var inlineCommand = regexp.MustCompile("`((?:make|go run|go test|curl|docker compose|redis-cli|bin/tutorial) [^`]*)`")

// stripCode drops fenced blocks, whose lines commandLines has taken.
func stripCode(text string) string {
	var b strings.Builder
	inCode := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		if !inCode && !strings.Contains(line, "`") {
			b.WriteString("\n")
			continue
		}
		if !inCode {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// split cuts a shell line into simple commands, as words: on ;, &&, ||,
// a | or & followed by a space, ( and ). A | inside a word is the
// documents' way of giving alternatives (stop|kill). A # that starts a
// word starts a comment.
func split(line string) [][]string {
	var cmds [][]string
	var cur []string
	var word strings.Builder
	inWord := false
	var quote rune
	flushWord := func() {
		if inWord {
			cur = append(cur, word.String())
			word.Reset()
			inWord = false
		}
	}
	flushCmd := func() {
		flushWord()
		if len(cur) > 0 {
			cmds = append(cmds, cur)
			cur = nil
		}
	}
	// <that id> is one placeholder, not two words.
	line = regexp.MustCompile(`<[^<>]*>`).ReplaceAllStringFunc(line, func(p string) string { return strings.ReplaceAll(p, " ", "_") })
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else {
				word.WriteRune(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == '#' && !inWord:
			flushCmd()
			return cmds
		case c == ' ' || c == '\t':
			flushWord()
		case c == ';' || c == '(' || c == ')':
			flushCmd()
		case (c == '|' || c == '&') && (i+1 == len(rs) || rs[i+1] == ' ' || rs[i+1] == c):
			if i+1 < len(rs) && rs[i+1] == c {
				i++
			}
			flushCmd()
		default:
			word.WriteRune(c)
			inWord = true
		}
	}
	flushCmd()
	return cmds
}

// placeholder: what a document writes for a value the learner fills in.
var placeholder = regexp.MustCompile(`^(<.*>|[A-Z]+|step[A-Z]|[A-Z]\+1|\.\.\.|…)$`)

// ignored are commands of no project's: nothing of ours to check.
var ignored = map[string]bool{
	"sleep": true, "wait": true, "tr": true, "sed": true, "grep": true, "head": true,
	"for": true, "done": true, "git": true, "cd": true, "export": true, "brew": true,
	"xcode-select": true, "wsl": true, "tar": true, "rm": true, "apt-get": true,
	"mkdir": true, "nice": true,
}

type checker struct {
	targets   map[string]bool
	verbs     map[string]bool // cmd/tutorial's
	runFlags  map[string]bool // cmd/tutorial run's
	traceFlag map[string]bool // cmd/trace's
	compose   string          // docker-compose.yml
	code      map[int]string  // each step's Go code, tests left out
	root      string
}

func newChecker(t *testing.T) *checker {
	c := &checker{root: root(t), targets: map[string]bool{}, code: map[int]string{}}
	for _, m := range regexp.MustCompile(`(?m)^([a-z]+):`).FindAllStringSubmatch(read(t, "Makefile"), -1) {
		c.targets[m[1]] = true
	}
	names := func(pattern, text string) map[string]bool {
		set := map[string]bool{}
		for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(text, -1) {
			set[m[1]] = true
		}
		if len(set) == 0 {
			t.Fatalf("no %s: the source changed shape; teach the test", pattern)
		}
		return set
	}
	c.verbs = names(`\{"(\w+)", "`, read(t, "cmd/tutorial/parts.go"))
	c.verbs["status"], c.verbs["run"] = true, true
	c.runFlags = names(`fs\.\w+\(&cfg\.\w+, "([\w-]+)"`, read(t, "cmd/tutorial/main.go"))
	c.runFlags["color"] = true
	c.traceFlag = names(`flag\.\w+\("(\w+)"`, read(t, "cmd/trace/main.go"))
	c.compose = read(t, "docker-compose.yml")
	for _, s := range topology.Steps() {
		var b strings.Builder
		filepath.WalkDir(filepath.Join(c.root, s.Dir), func(path string, e os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				data, _ := os.ReadFile(path)
				b.Write(data)
			}
			return nil
		})
		c.code[s.Number] = b.String()
	}
	return c
}

func (c *checker) exists(path string) bool {
	_, err := os.Stat(filepath.Join(c.root, strings.TrimSuffix(path, "/...")))
	return err == nil
}

// steps are the steps a document's commands may run against.
func steps(n int) []topology.Step {
	if n == 0 {
		return topology.Steps()
	}
	s, _ := topology.Find(n)
	return []topology.Step{s}
}

// parts are what `tutorial VERB PART` may name in step n (0: any step).
func parts(n int) map[string]bool {
	set := map[string]bool{}
	for _, s := range steps(n) {
		for _, p := range s.Programs {
			set[strings.TrimPrefix(p.Service, s.Profile()+"-")] = true
		}
		if s.NeedsRedis() {
			set["redis"] = true
		}
		switch {
		case s.JaegerRoles != "": // step 11: Jaeger as its roles, a part each
			set["storage"], set["collector"], set["query"] = true, true, true
		case s.NeedsJaeger():
			set["jaeger"] = true
		}
	}
	return set
}

// traced are the services that report spans in step n, as traces name them.
func traced(n int) map[string]bool {
	set := map[string]bool{}
	for _, s := range steps(n) {
		for _, p := range s.Programs {
			_, jaeger := p.Env["JAEGER_ENDPOINT"]
			_, otlp := p.Env["OTEL_EXPORTER_OTLP_ENDPOINT"]
			switch {
			case !jaeger && !otlp:
			case len(s.Programs) == 1:
				set["gateway"] = true // the monoliths call themselves gateway
			default:
				set[strings.TrimPrefix(p.Service, s.Profile()+"-")] = true
			}
		}
	}
	return set
}

func (c *checker) check(step int, words []string) error {
	for len(words) > 0 && (strings.Contains(words[0], "=") && words[0] == strings.ToUpper(words[0]) ||
		words[0] == "time" || words[0] == "sudo" || words[0] == "do") {
		words = words[1:] // VAR=value, time, sudo, do
	}
	if len(words) == 0 {
		return nil
	}
	args := words[1:]
	switch words[0] {
	case "make":
		return c.make(args)
	case "go":
		return c.goCommand(step, args)
	case "bin/tutorial":
		return c.tutorial(step, args)
	case "curl":
		return c.curl(step, args)
	case "redis-cli":
		return c.redis(step, args)
	case "diff":
		for _, a := range args {
			if !strings.HasPrefix(a, "-") && !c.exists(a) {
				return fmt.Errorf("diff: no %s", a)
			}
		}
	case "docker":
		return c.docker(args)
	default:
		if !ignored[words[0]] {
			return fmt.Errorf("%q: a command this test does not know; teach it what to check, or add it to ignored", words[0])
		}
	}
	return nil
}

func (c *checker) make(args []string) error {
	target := ""
	for _, a := range args {
		k, v, isVar := strings.Cut(a, "=")
		switch {
		case !isVar && target == "":
			target = a
		case !isVar:
			return fmt.Errorf("make %s: a second target %q", target, a)
		case placeholder.MatchString(v):
		case k == "STEP":
			if _, err := lesson.FindExercise(v); err != nil && !isStep(v) {
				return fmt.Errorf("make %s: STEP=%s is neither a step nor an exercise", target, v)
			}
		case k == "FROM" || k == "TO":
			if !isStep(v) {
				return fmt.Errorf("make %s: %s=%s is no step", target, k, v)
			}
		case k == "DIR":
			if name, ok := strings.CutPrefix(v, "_exercises/"); ok {
				name = strings.TrimPrefix(name, "step")
				if _, err := lesson.FindExercise(name); err != nil && !placeholder.MatchString(name) && !isStep(name) {
					return fmt.Errorf("make %s: DIR=%s: no such exercise", target, v)
				}
			} else if !c.exists(v) {
				return fmt.Errorf("make %s: DIR=%s does not exist", target, v)
			}
		case k == "RESET", k == "CI", k == "JAEGER":
		default:
			return fmt.Errorf("make %s: the Makefile reads no %s", target, k)
		}
	}
	if !c.targets[target] && !pending[target] {
		return fmt.Errorf("make %s: the Makefile has no such target", target)
	}
	return nil
}

func isStep(v string) bool {
	n, err := strconv.Atoi(v)
	if err != nil {
		return false
	}
	_, err = topology.Find(n)
	return err == nil
}

func (c *checker) goCommand(step int, args []string) error {
	if len(args) < 2 || (args[0] != "run" && args[0] != "test") {
		return fmt.Errorf("go %s: not a go run or go test", strings.Join(args, " "))
	}
	pkg := args[1]
	if args[0] == "test" { // its package among its flags
		for _, a := range args[1:] {
			if strings.HasPrefix(a, "./") {
				pkg = a
			}
		}
	}
	if !c.exists(pkg) {
		return fmt.Errorf("go %s %s: no such package", args[0], pkg)
	}
	switch pkg {
	case "./cmd/tutorial":
		return c.tutorial(step, args[2:])
	case "./cmd/trace":
		return c.trace(step, args[2:])
	}
	return nil
}

// tutorial checks `tutorial VERB PART` and `tutorial run -flag N`.
func (c *checker) tutorial(step int, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("tutorial: no verb")
	}
	for _, verb := range strings.Split(args[0], "|") {
		if !c.verbs[verb] {
			return fmt.Errorf("tutorial %s: no such verb", verb)
		}
	}
	if args[0] == "run" {
		for _, a := range args[1:] {
			if name, ok := strings.CutPrefix(a, "-"); ok && !c.runFlags[name] {
				return fmt.Errorf("tutorial run: no flag -%s", name)
			}
		}
		return nil
	}
	if args[0] == "status" {
		return nil
	}
	if len(args) != 2 {
		return fmt.Errorf("tutorial %s: want one part, got %q", args[0], args[1:])
	}
	if part := args[1]; !placeholder.MatchString(part) && !parts(step)[part] {
		return fmt.Errorf("tutorial %s %s: no such part in step %d (%v)", args[0], part, step, parts(step))
	}
	return nil
}

func (c *checker) trace(step int, args []string) error {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, isFlag := strings.CutPrefix(a, "-")
		switch {
		case !isFlag:
			if !placeholder.MatchString(a) && !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) {
				return fmt.Errorf("trace %s: not a trace ID", a)
			}
		case !c.traceFlag[name]:
			return fmt.Errorf("trace: no flag -%s", name)
		case name == "details":
		case i+1 == len(args):
			return fmt.Errorf("trace -%s: no value", name)
		default:
			i++
			if name == "service" && !traced(step)[args[i]] {
				return fmt.Errorf("trace -service %s: no such traced service in step %d (%v)", args[i], step, traced(step))
			}
		}
	}
	return nil
}

// routes of a step's programs, by what the runner calls them.
var routes = map[string]*regexp.Regexp{
	"gateway":      regexp.MustCompile(`^/(git/[^/]+/[^/]+|healthz)$`),
	"contributors": regexp.MustCompile(`^/(stats/[^/]+/[^/]+|healthz)$`),
	"cleaner":      regexp.MustCompile(`^/healthz$`),
}

func (c *checker) curl(step int, args []string) error {
	for i, a := range args {
		if i > 0 && args[i-1] == "-H" {
			name, _, _ := strings.Cut(a, ":")
			lower := strings.ToLower(name)
			if step == 0 || lower == "uber-trace-id" || strings.HasPrefix(lower, "uberctx-") || lower == "traceparent" || lower == "baggage" {
				continue // the tracers' own headers
			}
			if !strings.Contains(strings.ToLower(c.code[step]), lower) {
				return fmt.Errorf("curl -H %q: step %d's code reads no %s", a, step, name)
			}
			continue
		}
		if !strings.Contains(a, "localhost:") && !strings.Contains(a, "127.0.0.1:") {
			continue
		}
		if !strings.Contains(a, "://") {
			a = "http://" + a
		}
		u, err := url.Parse(strings.ReplaceAll(a, "$repo", "owner/repo"))
		if err != nil {
			return fmt.Errorf("curl %s: %v", a, err)
		}
		port, _ := strconv.Atoi(u.Port())
		served := false
		for _, s := range steps(step) {
			for _, p := range s.Programs {
				name := strings.TrimPrefix(p.Service, s.Profile()+"-")
				if p.Public {
					name = "gateway"
				}
				if p.Port == port && routes[name].MatchString(u.Path) {
					served = true
				}
			}
		}
		if !served {
			return fmt.Errorf("curl %s: no program of step %d serves port %d with that route", a, step, port)
		}
	}
	return nil
}

// redis checks the streams a document reads or writes.
func (c *checker) redis(step int, args []string) error {
	if step == 0 {
		step = 7
	}
	m := regexp.MustCompile(`(?m)jobqueue\.New\(.*, "(\w+)"\)$`).FindStringSubmatch(c.code[step])
	if m == nil {
		return fmt.Errorf("redis-cli: step %d has no queue", step)
	}
	for _, a := range args {
		if name, stream, ok := strings.Cut(a, ":"); ok && !strings.Contains(a, " ") && name == strings.ToLower(name) && !strings.Contains(name, ".") {
			if name != m[1] || (stream != "jobs" && stream != "dead-letter") {
				return fmt.Errorf("redis-cli: %s is no stream of step %d's queue (%s:jobs, %s:dead-letter)", a, step, m[1], m[1])
			}
		}
	}
	return nil
}

func (c *checker) docker(args []string) error {
	if len(args) == 0 || args[0] != "compose" {
		return fmt.Errorf("docker %s: only docker compose is taught", strings.Join(args, " "))
	}
	services := map[string]bool{}
	_, body, _ := strings.Cut(c.compose, "\nservices:\n")
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z0-9-]+):$`).FindAllStringSubmatch(body, -1) {
		services[m[1]] = true
	}
	for i := 1; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--profile" && i+1 < len(args):
			i++
			p := args[i]
			if p != "*" && !placeholder.MatchString(p) && !strings.Contains(c.compose, p+",") && !strings.Contains(c.compose, p+"]") {
				return fmt.Errorf("docker compose --profile %s: no such profile", p)
			}
		case strings.HasPrefix(a, "-"):
		case i > 1 && !placeholder.MatchString(a) && !strings.Contains(a, "<") && args[1] != "--profile":
			if !services[a] {
				return fmt.Errorf("docker compose %s %s: no such service", args[1], a)
			}
		}
	}
	return nil
}

// TestTracesShowWhatTheStepReports: every trace a step's README shows (or
// docs/failures.md, for step 7) is in the shape cmd/trace prints, with the
// step's own services and span names; a header's span and service counts
// match its rows.
func TestTracesShowWhatTheStepReports(t *testing.T) {
	c := newChecker(t)
	header := regexp.MustCompile(`^Trace [0-9a-f]{32}: [\d.]+(µs|ms|s), (\d+) spans?, (\d+) services?(, \d+ errors?)?$`)
	rows := 0
	for _, d := range documents(t) {
		if d.step == 0 {
			continue
		}
		inFence, plain := false, false
		var block []string
		for _, line := range strings.Split(d.text, "\n") {
			switch {
			case strings.HasPrefix(line, "```") && !inFence:
				inFence, plain, block = true, line == "```", nil
			case strings.HasPrefix(line, "```"):
				inFence = false
				if plain {
					rows += c.checkTrace(t, d, block, header)
				}
			case inFence:
				block = append(block, line)
			}
		}
	}
	if rows < 50 {
		t.Errorf("%d rows of traces in the step READMEs: the extraction is broken", rows)
	}
}

var (
	treeIndent = regexp.MustCompile(`^[│├└─ ]*`)
	// A row: the operation, then its start and duration; or, abridged,
	// the operation alone.
	timings       = regexp.MustCompile(`\S\s{2,}[\d.]+(µs|ms|s)\s+[\d.]+(µs|ms|s)(\s|$)`)
	bareOperation = regexp.MustCompile(`^(GET /\S+|[\w.]+)( ERROR)?$`)
)

// checkTrace checks one plain block, if it holds a trace, and returns its
// rows.
func (c *checker) checkTrace(t *testing.T, d doc, block []string, header *regexp.Regexp) int {
	t.Helper()
	var want []string // from the header: spans, services
	services := map[string]bool{}
	n := 0
	for _, line := range block {
		if strings.HasPrefix(line, "Trace ") {
			m := header.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("%s: %q is not cmd/trace's header", d.path, line)
				continue
			}
			if want != nil {
				c.counts(t, d, want, n, services)
			}
			want, n, services = m[2:4], 0, map[string]bool{}
			continue
		}
		fields := strings.Fields(treeIndent.ReplaceAllString(line, ""))
		if len(fields) < 2 || !(fields[0] == "gateway" || fields[0] == "contributors" || fields[0] == "cleaner") {
			continue // the axis, tags and logs under a span, or no trace at all
		}
		rest := strings.TrimSpace(treeIndent.ReplaceAllString(line, "")[len(fields[0]):])
		if !timings.MatchString(rest) && !bareOperation.MatchString(rest) {
			continue // a program's words, such as the runner's "cleaner killed (…)"
		}
		n++
		services[fields[0]] = true
		if !traced(d.step)[fields[0]] {
			t.Errorf("%s: a span of %s, which does not report spans in step %d: %s", d.path, fields[0], d.step, line)
		}
		op, _, _ := strings.Cut(strings.TrimSpace(treeIndent.ReplaceAllString(line, "")[len(fields[0]):]), "  ")
		op = strings.TrimSuffix(op, " ERROR")
		if before, _, abridged := strings.Cut(op, "…"); abridged {
			op = before
		} else if !strings.HasPrefix(op, "GET ") {
			op = `"` + op + `"`
		}
		// otelhttp's transport names its client spans (step 10 on) "HTTP GET".
		if !strings.Contains(c.code[d.step], op) && !(d.step >= 10 && op == `"HTTP GET"`) {
			t.Errorf("%s: step %d's code names no span %s: %s", d.path, d.step, op, line)
		}
	}
	if want != nil {
		c.counts(t, d, want, n, services)
	}
	return n
}

func (c *checker) counts(t *testing.T, d doc, want []string, spans int, services map[string]bool) {
	t.Helper()
	if want[0] != strconv.Itoa(spans) || want[1] != strconv.Itoa(len(services)) {
		t.Errorf("%s: a trace's header says %s spans of %s services; its rows show %d of %d", d.path, want[0], want[1], spans, len(services))
	}
}

// external are packages of other modules that the documents name.
var external = map[string]bool{"sdk/trace/tracetest": true}

// TestFilesNamedExist: every file or folder a README names in code
// (`gateway/services.go`, `internal/steplib/jobqueue`) exists, in the step's
// folder or from the repository's root.
func TestFilesNamedExist(t *testing.T) {
	named := regexp.MustCompile("`((?:[\\w.-]+/)*[\\w-]+\\.(?:go|md|yml|html)|(?:[\\w-]+/)+[\\w-]*)`")
	r := root(t)
	n := 0
	for _, d := range documents(t) {
		// A name is the doc's own folder's, the root's, or a step's
		// ("step 5's http.go", "gateway/services.go").
		dirs := []string{r, filepath.Join(r, filepath.Dir(d.path))}
		for _, s := range topology.Steps() {
			dirs = append(dirs, filepath.Join(r, s.Dir))
		}
		for _, m := range named.FindAllStringSubmatch(d.text, -1) {
			name := m[1]
			if strings.HasPrefix(name, "/") || strings.Contains(name, "://") || strings.ContainsAny(name, "{}") ||
				regexp.MustCompile(`^[a-z-]+/[a-z-]+$`).MatchString(name) && !strings.Contains(name, "internal") && !strings.HasPrefix(name, "cmd") {
				continue // a route, a URL, owner/repo
			}
			if strings.HasPrefix(name, "_exercises/") || strings.HasPrefix(name, "testdata/") || external[name] {
				continue // made by make exercise, by go test -fuzz; another module's
			}
			if strings.HasPrefix(name, "Test") {
				continue // a test and its subtest: TestRolesCollectorOutageLoss/killed
			}
			n++
			found := false
			for _, dir := range dirs {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					found = true
				}
			}
			if !found {
				t.Errorf("%s names %s, which is neither in %s nor in the repository's root", d.path, name, filepath.Dir(d.path))
			}
		}
	}
	if n < 30 {
		t.Errorf("%d file names in the documents: the extraction is broken", n)
	}
}

// TestVariableDefaults: a table row that gives a variable our code reads
// with a default (`REDIS_ADDR` … `localhost:6379`) gives the code's default.
func TestVariableDefaults(t *testing.T) {
	c := newChecker(t)
	var code strings.Builder
	for _, s := range topology.Steps() {
		code.WriteString(c.code[s.Number])
	}
	defaults := map[string]map[string]bool{} // what the code reads, with its defaults
	for _, m := range regexp.MustCompile(`nvOr\("([A-Z_]+)", "([^"]*)"\)`).FindAllStringSubmatch(code.String(), -1) {
		if defaults[m[1]] == nil {
			defaults[m[1]] = map[string]bool{}
		}
		defaults[m[1]][m[2]] = true
	}
	row := regexp.MustCompile("^\\| `([A-Z_]+)` \\|(?: [^|`]* \\|)? `([^`]+)`")
	checked := 0
	for _, d := range documents(t) {
		for _, line := range strings.Split(d.text, "\n") {
			m := row.FindStringSubmatch(line)
			if m == nil || defaults[m[1]] == nil {
				continue // not a row with a default, or a variable a library reads
			}
			checked++
			if !defaults[m[1]][m[2]] {
				t.Errorf("%s: %s defaults to %q, says the table; the code's: %v", d.path, m[1], m[2], defaults[m[1]])
			}
		}
	}
	if checked < 5 {
		t.Errorf("%d defaults checked: the tables changed shape", checked)
	}
}
