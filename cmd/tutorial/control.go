//go:build !windows

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/control"
)

// `tutorial stop cleaner`, from another terminal, asks the running step
// through internal/infra/control; the step answers with r.do.

const controlUsage = `usage: tutorial VERB PART      (against the step that make run is running)
       tutorial status         (what runs, what is stopped or paused)

The verbs:
%s
The parts: the step's programs (gateway, contributors, cleaner; in steps 1
to 5 its one program, step3), redis and jaeger. A part that dies, killed or
crashed, leaves the rest running.

flags:
  -pid N   the runner to talk to (its pid), if more than one runs
`

func controlUsageText() string {
	var b strings.Builder
	for _, v := range verbs {
		fmt.Fprintf(&b, "  %-8s %s\n", v[0], v[1])
	}
	return fmt.Sprintf(controlUsage, b.String())
}

// serveControl listens for the learner's requests until the step stops.
func (r *runner) serveControl(ctx context.Context) error {
	closeControl, err := control.Serve(ctx, func(ctx context.Context, req control.Request) control.Reply {
		msg, err := r.do(ctx, req.Verb, req.Part)
		reply := control.Reply{OK: err == nil, Message: msg}
		if err != nil {
			reply.Message = err.Error()
		}
		if req.Verb != "status" {
			// The learner watches the runner's terminal too.
			r.console.Printf("\n$ tutorial %s %s\n%s\n", req.Verb, req.Part, reply.Message)
		}
		return reply
	})
	if err != nil {
		return err
	}
	r.addCloser(closeControl)
	return nil
}

// controlMain is `tutorial VERB PART` and `tutorial status`: it returns
// the exit status.
func controlMain(args []string, stdout, stderr io.Writer) int {
	verb := args[0]
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, controlUsageText()) }
	pid := fs.Int("pid", 0, "")
	var rest []string
	for list := args[1:]; ; { // flags before or after the part
		if err := fs.Parse(list); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		list = fs.Args()[1:]
	}
	switch {
	case verb == "status" && len(rest) != 0, verb != "status" && len(rest) != 1:
		fmt.Fprint(stderr, controlUsageText())
		return 2
	}
	req := control.Request{Verb: verb}
	if len(rest) == 1 {
		req.Part = rest[0]
	}
	reply, err := control.Send(*pid, req)
	if err != nil {
		fmt.Fprintln(stderr, "tutorial:", err)
		return 1
	}
	if !reply.OK {
		fmt.Fprintln(stderr, "tutorial:", reply.Message)
		return 1
	}
	fmt.Fprintln(stdout, strings.TrimRight(reply.Message, "\n"))
	return 0
}
