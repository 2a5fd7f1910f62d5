// Command trace draws a trace from Jaeger as a waterfall in the terminal:
// the tutorial's Jaeger serves its query API but no web UI to look with.
//
//	go run ./cmd/trace 5f3a9c2e8b7d4a61          # the X-Trace-Id of a response
//	go run ./cmd/trace -service gateway -details # the latest trace of gateway
//
// Piped to a file it writes plain text, ready to paste into a README.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/jaeger"
	"github.com/tracing-tutorial/tutorial/internal/traceview"
)

func main() {
	jaegerURL := flag.String("jaeger", cmp.Or(os.Getenv("JAEGER_QUERY_URL"), "http://127.0.0.1:16686"), "Jaeger's query `URL`; JAEGER_QUERY_URL sets the default")
	service := flag.String("service", "", "show the latest trace of this `service` instead of a given trace")
	details := flag.Bool("details", false, "show every span's tags and logs")
	width := flag.Int("width", traceview.TerminalWidth(), "line width in `columns`; COLUMNS sets the default")
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
	if u, err := url.Parse(*jaegerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		usage(fmt.Sprintf("-jaeger %q is not an http:// URL", *jaegerURL))
	}
	if *width < 1 {
		usage("-width must be at least 1")
	}
	if (*service == "") != (flag.NArg() == 1) || flag.NArg() > 1 {
		usage("give either one trace ID or -service")
	}
	if id := flag.Arg(0); id != "" && !isTraceID(id) {
		usage(fmt.Sprintf("%q is not a trace ID (1 to 32 hex digits, as in X-Trace-Id)", id))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	client := &jaeger.Client{QueryURL: strings.TrimRight(*jaegerURL, "/")}
	var trace jaeger.Trace
	what := "trace " + flag.Arg(0)
	if *service != "" {
		what = fmt.Sprintf("trace of service %q in the last hour", *service)
		trace, err = client.Latest(ctx, *service)
	} else {
		trace, err = client.Trace(ctx, flag.Arg(0))
	}
	if err != nil {
		fail(explain(err, client.QueryURL, what))
	}

	out := bufio.NewWriter(os.Stdout)
	err = traceview.Render(out, trace, traceview.Options{Width: *width, Color: useColor, Details: *details})
	if err := errors.Join(err, out.Flush()); err != nil {
		fail(err.Error())
	}
}

// explain turns the errors a newcomer will meet into one line that says
// what to do next.
func explain(err error, jaegerURL, what string) string {
	var netErr *url.Error
	switch {
	case errors.As(err, &netErr):
		return fmt.Sprintf("cannot reach Jaeger at %s (%v): is it running? `make run` starts it", jaegerURL, netErr.Err)
	case errors.Is(err, jaeger.ErrNotFound):
		return fmt.Sprintf("no %s in Jaeger at %s (spans take a moment to arrive: try again)", what, jaegerURL)
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
