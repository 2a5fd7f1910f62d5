// Command trace draws a trace from Jaeger as a waterfall in the terminal.
// (In a browser, the tutorial's Jaeger shows the same at the trace= link
// the programs log.)
//
//	go run ./cmd/trace 5f3a9c2e8b7d4a61          # the X-Trace-Id of a response
//	go run ./cmd/trace -service gateway -details # the latest trace of gateway
//
// It asks the Jaeger of the `make run` that is running, on whatever port
// it took. Piped to a file it writes plain text, ready to paste into a
// README.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/infra/traceview"
)

const defaultJaeger = "http://127.0.0.1:16686"

// arrival is how long a trace that is not in Jaeger yet is waited for: the
// programs send their spans within a second.
const arrival = 3 * time.Second

func main() {
	jaegerURL := flag.String("jaeger", "", "Jaeger's query `URL` (default: JAEGER_QUERY_URL, else the running `make run`'s Jaeger, else "+defaultJaeger+")")
	service := flag.String("service", "", "show the latest trace of this `service` instead of a given trace")
	details := flag.Bool("details", false, "show every span's tags and logs")
	width := flag.Int("width", traceview.TerminalWidth(os.Stdout), "line width in `columns` (default: the terminal's width, or $COLUMNS if exported)")
	color := flag.String("color", "auto", "`when` to colour: auto (on a terminal, unless NO_COLOR is set), always or never")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: trace [flags] <trace-id>\n       trace [flags] -service <name>\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	useColor, err := traceview.UseColor(*color, os.Stdout)
	if err != nil {
		usage(err.Error())
	}
	source := findJaeger(jaegerURL)
	if u, err := url.Parse(*jaegerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		usage(fmt.Sprintf("-jaeger %q is not an http:// URL", *jaegerURL))
	}
	if *width < 1 {
		usage("-width must be at least 1")
	}
	if (*service == "") != (flag.NArg() == 1) || flag.NArg() > 1 {
		usage("give either one trace ID or -service")
	}
	id := strings.TrimSpace(flag.Arg(0)) // copied from curl -i's output, it ends in \r
	if flag.NArg() == 1 && !isTraceID(id) {
		usage(fmt.Sprintf("%q is not a trace ID (1 to 32 hex digits, as in X-Trace-Id)", flag.Arg(0)))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client := &jaeger.Client{QueryURL: strings.TrimRight(*jaegerURL, "/")}
	var trace jaeger.Trace
	what := "trace " + id
	if *service != "" {
		what = fmt.Sprintf("trace of service %q in the last hour", *service)
		trace, err = latest(ctx, client, *service)
	} else {
		trace, err = fetch(ctx, client, id)
	}
	if err != nil {
		fail(explain(err, client.QueryURL, source, what))
	}

	out := bufio.NewWriter(os.Stdout)
	err = traceview.Render(out, trace, traceview.Options{Width: *width, Color: useColor, Details: *details})
	if err := errors.Join(err, out.Flush()); err != nil {
		fail(err.Error())
	}
}

// runningSource begins the source of a Jaeger that a running `make run`
// recorded.
const runningSource = "the Jaeger of the running "

// findJaeger fills in *jaegerURL if the flag was not given, and says where
// the URL came from.
func findJaeger(jaegerURL *string) string {
	if *jaegerURL != "" {
		return "-jaeger"
	}
	if env := os.Getenv("JAEGER_QUERY_URL"); env != "" {
		*jaegerURL = env
		return "JAEGER_QUERY_URL"
	}
	if r, ok := jaeger.FindRunning(); ok {
		*jaegerURL = r.QueryURL
		return fmt.Sprintf(runningSource+"`make run STEP=%d`", r.Step)
	}
	*jaegerURL = defaultJaeger
	return "the default: no `make run` of step 3 or later is running"
}

// inFlight waits for the spans of a request that has just been answered:
// they are on their way to Jaeger, as the programs send theirs every 100
// ms under make run, every second under docker compose. (A variable for
// the tests.)
var inFlight = func(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(1200 * time.Millisecond):
	}
}

// latest gets the latest trace of service, once the spans of a request
// just answered have arrived: `curl …; go run ./cmd/trace -service
// gateway` shows that request's trace, not the one before.
func latest(ctx context.Context, client *jaeger.Client, service string) (jaeger.Trace, error) {
	inFlight(ctx)
	return client.Latest(ctx, service)
}

// fetch gets a trace, waiting a moment for one that is not there yet.
func fetch(ctx context.Context, client *jaeger.Client, id string) (jaeger.Trace, error) {
	ctx, cancel := context.WithTimeout(ctx, arrival)
	defer cancel()
	for {
		trace, err := client.Trace(ctx, id)
		if !errors.Is(err, jaeger.ErrNotFound) {
			return trace, err
		}
		select {
		case <-ctx.Done():
			return trace, err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// explain turns the errors a newcomer will meet into one line that says
// what to do next. source says where the Jaeger's URL came from.
func explain(err error, jaegerURL, source, what string) string {
	var netErr *url.Error
	switch {
	case errors.As(err, &netErr) && strings.HasPrefix(source, runningSource):
		// The step runs, its Jaeger does not: the learner stopped it.
		return fmt.Sprintf("cannot reach Jaeger at %s (%s; %v): was it stopped? `go run ./cmd/tutorial status` says; `go run ./cmd/tutorial restart jaeger` brings it back", jaegerURL, source, netErr.Err)
	case errors.As(err, &netErr):
		return fmt.Sprintf("cannot reach Jaeger at %s (%s; %v): is `make run` (step 3 or later) running?", jaegerURL, source, netErr.Err)
	case errors.Is(err, jaeger.ErrNotFound) && strings.HasPrefix(what, "trace of service"):
		return fmt.Sprintf("no %s in Jaeger at %s (%s): send a request first", what, jaegerURL, source)
	case errors.Is(err, jaeger.ErrNotFound):
		return fmt.Sprintf("no %s in Jaeger at %s (%s), after waiting %s for its spans: is it the Jaeger the programs report to? Jaeger keeps traces in memory, so a restarted one has lost them",
			what, jaegerURL, source, arrival)
	}
	return err.Error()
}

func isTraceID(s string) bool {
	return len(s) <= 32 && s != "" && strings.Trim(s, "0123456789abcdefABCDEF") == ""
}

func usage(msg string) {
	fmt.Fprintln(os.Stderr, "trace:", msg, "(trace -h for help)")
	os.Exit(2)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "trace:", msg)
	os.Exit(1)
}
