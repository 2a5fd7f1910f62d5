//go:build !windows

// Command tutorial runs one step of the tutorial on your machine, with no
// Docker: a real Jaeger, Redis and the stand-in GitHub when the step needs
// them, then the step's programs. It sends one example request, prints its
// trace, and keeps everything running until Ctrl-C.
//
//	go run ./cmd/tutorial run 7      # what `make run STEP=7` does
//	go run ./cmd/tutorial run -h     # the ports it uses, and how to change them
//
// While a step runs, another terminal can break it on purpose, and mend it:
//
//	go run ./cmd/tutorial kill cleaner      # stop, kill, pause, resume, restart
//	go run ./cmd/tutorial restart cleaner   # same port, same environment
//	go run ./cmd/tutorial status            # what runs, what is stopped
//
// A part that dies (killed, or crashed) leaves the rest running, and the
// runner says how to bring it back.
//
// Everything listens on 127.0.0.1 only. Set GITHUB_API_URL (and
// GITHUB_TOKEN) to use the real GitHub instead of the stand-in.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/tracing-tutorial/tutorial/internal/infra/stack"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
)

const usage = `usage: tutorial run [flags] [step]
       tutorial stop|kill|pause|resume|restart|start PART   (tutorial stop -h: more)
       tutorial status

Runs a step of the tutorial (step 1 if none is given) until Ctrl-C. While
it runs, another terminal can stop, kill, pause and restart its parts.
The steps are %s.
`

func main() {
	if len(os.Args) == 2 && os.Args[1] == "build-jaeger" { // started by a run of step 1 or 2
		os.Exit(buildJaegerMain())
	}
	if len(os.Args) >= 2 && (isVerb(os.Args[1]) || os.Args[1] == "status") {
		os.Exit(controlMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	if len(os.Args) < 2 || os.Args[1] != "run" {
		fmt.Fprintf(os.Stderr, usage+"(tutorial run -h lists the flags)\n", stepList())
		os.Exit(2)
	}
	cfg, err := parseRun(os.Args[2:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tutorial:", err)
		os.Exit(2)
	}

	// The first Ctrl-C (or SIGTERM) stops everything in order; a second
	// one kills it all at once.
	ctx, cancel := context.WithCancel(context.Background())
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-signals
		cancel()
		<-signals
		fmt.Fprintln(os.Stderr, "\ntutorial: killing everything")
		stack.KillAll()
		os.Exit(1)
	}()

	if err := run(ctx, newConsole(os.Stdout), cfg); err != nil {
		fmt.Fprintln(os.Stderr, "tutorial:", err)
		os.Exit(1)
	}
}

// parseRun reads the arguments of `tutorial run`: flags, and the step
// number before or after them.
func parseRun(args []string) (config, error) {
	cfg := config{
		Port:          8000,
		JaegerPort:    16686,
		CollectorPort: 14268,
		AgentPort:     6831,
		RedisPort:     6379,
		GitHubPort:    9090,
		GitHubURL:     os.Getenv("GITHUB_API_URL"),
		Width:         traceview.TerminalWidth(os.Stdout),
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), usage+"\nflags:\n", stepList())
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), "\nA port of 0 picks a free one. GITHUB_API_URL set in the environment uses that GitHub\n(with GITHUB_TOKEN) instead of the stand-in.\n")
	}
	fs.IntVar(&cfg.Port, "port", cfg.Port, "`port` of the step's first program (gateway); the others take the next ports")
	fs.IntVar(&cfg.JaegerPort, "jaeger-port", cfg.JaegerPort, "`port` of Jaeger's query API")
	fs.IntVar(&cfg.CollectorPort, "collector-port", cfg.CollectorPort, "`port` where Jaeger collects spans (JAEGER_ENDPOINT)")
	fs.IntVar(&cfg.AgentPort, "agent-port", cfg.AgentPort, "UDP `port` of Jaeger's agent endpoint")
	fs.IntVar(&cfg.RedisPort, "redis-port", cfg.RedisPort, "`port` of Redis (steps 6-7); if the default is taken, a free one is used")
	fs.IntVar(&cfg.GitHubPort, "github-port", cfg.GitHubPort, "`port` of the stand-in GitHub")
	color := fs.String("color", "auto", "`when` to colour the trace: auto, always or never")

	var step string
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 { // the step, then maybe more flags
		step = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return cfg, err
		}
		if fs.NArg() > 0 {
			return cfg, fmt.Errorf("one step at a time, not %q", strings.Join(append([]string{step}, fs.Args()...), " "))
		}
	}
	fs.Visit(func(f *flag.Flag) { cfg.RedisPortSet = cfg.RedisPortSet || f.Name == "redis-port" })

	var err error
	if cfg.Step, err = findStep(step); err != nil {
		return cfg, err
	}
	if cfg.Color, err = traceview.UseColor(*color, os.Stdout); err != nil {
		return cfg, err
	}
	last := cfg.Port + len(cfg.Step.Programs) - 1 // the step's programs take ports from -port on
	for _, port := range []int{cfg.Port, last, cfg.JaegerPort, cfg.CollectorPort, cfg.AgentPort, cfg.RedisPort, cfg.GitHubPort} {
		if port < 0 || port > 65535 {
			return cfg, fmt.Errorf("port %d is out of range", port)
		}
	}
	return cfg, nil
}

// findStep returns the step that arg names: "7", or "" for step 1.
func findStep(arg string) (topology.Step, error) {
	if arg == "" {
		arg = "1"
	}
	n, err := strconv.Atoi(arg)
	if err != nil {
		return topology.Step{}, fmt.Errorf("%q is not a step; the steps are %s", arg, stepList())
	}
	return topology.Find(n)
}

func stepList() string {
	var names []string
	for _, s := range topology.Steps() {
		names = append(names, fmt.Sprintf("%d (%s)", s.Number, s.Dir))
	}
	return strings.Join(names, ", ")
}
