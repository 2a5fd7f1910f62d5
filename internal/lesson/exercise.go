package lesson

import (
	"bytes"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/paths"
	"github.com/tracing-tutorial/tutorial/internal/infra/topology"
)

// ExercisesDir is where `make exercise` puts the learners' copies, under
// the tutorial's root. Git ignores it, and its leading underscore keeps
// it out of ./... (go vet, go test): a half-done exercise does not break
// make test.
const ExercisesDir = "_exercises"

// Exercise is a task of `make exercise STEP=<Name>`: write a lesson into a
// copy of the step before it, then `make check`.
type Exercise struct {
	Name    string // what STEP= takes: "4", "propagation"
	Title   string // "": the title of the lesson it is checked against
	From    int    // the step copied
	Check   int    // the step whose lesson make check holds the copy to
	Minutes int    // about how long it takes in a workshop, checks included
	Task    string // what to do, in a few lines
	// StartIn are the files to start in, relative to the copy. Empty:
	// those that step Check changes or adds.
	StartIn []string
}

// Exercises returns every exercise, in workshop order.
func Exercises() []Exercise {
	return []Exercise{
		{Name: "3", From: 2, Check: 3, Minutes: 15, Task: `Add a Jaeger tracer and one span per request.
- In main.go, create a tracer with config.FromEnv() (it reads JAEGER_ENDPOINT), ServiceName "gateway",
  a const sampler that traces every request, and Gen128Bit; make it the global tracer
  (opentracing.SetGlobalTracer) and Close it on exit: that flushes the last spans.
- Around the handler of GET /git/{owner}/{repo}, start a span named for the route (r.Pattern), finish it
  when the request ends, and put it in the request's context (opentracing.ContextWithSpan).
- Answer the trace ID in an X-Trace-Id header, and add trace=<JAEGER_UI>/trace/<id> to the request's log line.`},
		{Name: "4", From: 3, Check: 4, Minutes: 10, Task: `Add child spans: "fetchContributorStats" around the GitHub call and "countCommits" around counting,
both children of the request's span. opentracing.StartSpanFromContext(ctx, name) starts a child of the span
that ctx carries. Which functions need a ctx they did not have?`},
		{Name: "5", From: 4, Check: 5, Minutes: 15, Task: `Tag and log, so that a trace says which request it was and why it was slow.
- The request's span: the tag "repo" (owner/repo) and OpenTracing's standard tags (package ext):
  span.kind server, http.method, http.url, http.status_code, and error=true for a 5xx answer.
- The GitHub call's span: span.kind client, http.url (GitHub's), GitHub's http.status_code; when it fails,
  error=true and a log of the error (span.LogFields(log.Error(err))).
- countCommits' span: a log of how many contributors it counted. Where must the log go so it is not always 0?
- wild.go: log an event on the span before waiting for the login index lock and once it has it.`},
		{Name: "6", From: 5, Check: 6, Minutes: 90, Task: `Split the monolith into three programs, each in a folder of its own: gateway/ (serves GET /git/...,
asks contributors/, queues the statistics in Redis and waits for the cleaner's reply), contributors/ (our
GitHub proxy: GET /stats/{owner}/{repo}) and cleaner/ (takes jobs from Redis, counts, replies).
Only the gateway traces. This is a refactoring, not a tracing lesson, and it takes long: in a workshop,
read step 6's README and run it (make run STEP=6) instead.`},
		{Name: "7", From: 6, Check: 7, Minutes: 20, Task: `Make one trace follow the request across the three services.
- Gateway: a client span "fetchStats" around the call to contributors, whose context goes in the request's
  headers (Tracer.Inject, opentracing.HTTPHeaders); a producer span "queue.Push" whose context goes inside
  the queued message, which has no HTTP headers (opentracing.TextMap); a span "queue.WaitForReply".
- Contributors and cleaner: a tracer each (services "contributors" and "cleaner"), closed on exit.
- Contributors: extract the context from the headers and start the request's span, "GET /stats/{owner}/{repo}",
  as its child
  (opentracing.ChildOf: the gateway waits for the answer), and a client span "fetchContributorStats"
  around the GitHub call, from the request's context.
- Cleaner: extract the context from the message and start a consumer span "cleanJob" from it
  (FollowsFrom: the producer does not wait for it), with "countCommits" inside it.
- The gateway is the edge: a trace its client sends (uber-trace-id) is untrusted input. Start a new trace
  anyway, and tag the caller's trace ID as caller.trace_id (README: "The trust boundary").`},
		{Name: "8", From: 7, Check: 8, Minutes: 15, Task: `Carry who asked to the cleaner as baggage, two hops away.
- Gateway: read the client's name from the X-Requested-By header (a short name, or "anonymous") and set it
  as the baggage item "requested-by" on the request's span (span.SetBaggageItem). Nothing secret: baggage is
  logged on the span, stored in Jaeger, and sent on every hop.
- Nothing to add on the way: baggage travels with the span context that you already inject and extract.
- Cleaner: read it (span.BaggageItem("requested-by")), tag the cleanJob span requested_by, and log it.`},
		{Name: "9", From: 8, Check: 9, Minutes: 20, Task: `Keep the instrumentation, swap the tracer: OpenTelemetry's SDK through the OpenTracing bridge.
- internal/tracing: a TracerProvider with the otlptracehttp exporter (it reads OTEL_EXPORTER_OTLP_ENDPOINT)
  and a resource naming the service; otelbridge.NewTracerPair; the bridge as opentracing's global tracer;
  propagation.TraceContext and propagation.Baggage as otel's global propagator; Shutdown on exit.
- The cleaner: with OpenTelemetry a FollowsFrom reference alone starts a new trace with a link. Which
  reference keeps the queue hop in one trace, and why may it? (step 9's README, OpenTelemetry's messaging
  conventions)`},
		{Name: "10", From: 9, Check: 10, Minutes: 30, Task: `Leave the bridge: step 9's programs on OpenTelemetry's own API, with no OpenTracing import.
- internal/tracing: the SDK's TracerProvider as otel's global one (otel.SetTracerProvider), its resource from
  the environment (resource.WithFromEnv: OTEL_SERVICE_NAME wins over the name you give), the W3C propagators.
- HTTP: wrap each server's handler in otelhttp.NewHandler (main.go) and give the gateway's http.Client
  otelhttp's transport (its client spans are named "HTTP GET"); drop the hand-written request spans,
  fetchStats, Inject and Extract. Build requests with the request's ctx. The GitHub client gets otelhttp's
  transport too, with no propagator.
- The queue: no library knows it. queue.Push and cleanJob by hand (otel.Tracer(…).Start), with the messaging
  attributes; the context crosses in the job's headers with otel.GetTextMapPropagator() and a
  propagation.MapCarrier. Child or link: which keeps the job in the request's trace, and does the baggage care?
- Baggage from the context: baggage.FromContext, baggage.ContextWithBaggage.`},
		{Name: "11", Title: "Jaeger's architecture: its roles, each a process", From: 10, Check: 11, Minutes: 20,
			StartIn: []string{"jaeger/storage.yaml", "jaeger/collector.yaml", "jaeger/query.yaml"},
			Task: `The programs do not change: write Jaeger's three role configs in jaeger/ (step 11's README).
- storage.yaml: Badger on disk (directories from BADGER_DIR, ephemeral: false) behind the remote_storage
  extension, which serves it over gRPC on STORAGE_GRPC_PORT.
- collector.yaml: the otlp receiver, memory_limiter and batch, and jaeger_storage_exporter writing to a grpc
  backend at STORAGE_ENDPOINT, with retry_on_failure and a queue (off by default: a restart loses batches).
- query.yaml: jaeger_query reading the same grpc backend.
Every port from the environment (${env:NAME:-default}); healthcheckv2 on each role's *_HEALTH_PORT.`},
		{Name: "12", Title: "sampling: keep every failed and every slow trace", From: 11, Check: 12, Minutes: 15,
			StartIn: []string{"jaeger/collector.yaml"},
			Task: `Step 11's collector keeps every trace. Sample at the tail: in jaeger/collector.yaml, add the tail_sampling
processor to the traces pipeline (after memory_limiter, before batch), with a decision_wait and three policies:
- every trace with a span whose status is ERROR (type status_code);
- every trace slower than 1 s (type latency, threshold_ms);
- about a tenth of the rest (type probabilistic, sampling_percentage).
make check sends your collector failed, slow and ordinary traces and reads back what it kept.`},
		{Name: "propagation", Title: "the propagation experiment: your own trace context", From: 7, Check: 7, Minutes: 10, StartIn: []string{"internal/tracing/tracing.go"},
			Task: `The propagation experiment: a trace context is just a header, and anybody can send one.
1. make run STEP=7, then send your own trace context to the contributors service, behind the gateway, a
   trace ID and span ID you make up:
     curl -s -o /dev/null -H 'uber-trace-id: 5eed5eed5eed5eed5eed5eed5eed5eed:00000000000000aa:0:1' localhost:8001/stats/golang/go
   go run ./cmd/trace 5eed5eed5eed5eed5eed5eed5eed5eed draws your trace: the contributors' span hangs under
   span aa, which nobody reported.
2. Send the same to the gateway (localhost:8000/git/golang/go, with curl -si | grep X-Trace-Id): the
   X-Trace-Id is not yours. The gateway is the edge: it starts a new trace and tags yours as caller.trace_id
   (README: "The trust boundary"). Try flags 0 (not sampled), and a malformed one ('uber-trace-id: nonsense').
3. In this copy, make the gateway continue its client's trace (in internal/tracing, start the edge's span as
   a child of the extracted context), and see what make check says. Then put it back.`},
	}
}

// FindExercise returns the exercise that name (STEP=) names.
func FindExercise(name string) (Exercise, error) {
	var names []string
	for _, e := range Exercises() {
		if e.Name == name {
			return e, nil
		}
		names = append(names, e.Name)
	}
	return Exercise{}, fmt.Errorf("no exercise %q; the exercises are %s", name, strings.Join(names, ", "))
}

// Dir is where the exercise's copy goes, relative to the tutorial's root:
// _exercises/step4, _exercises/propagation.
func (e Exercise) Dir() string {
	name := e.Name
	if _, err := fmt.Sscan(name, new(int)); err == nil {
		name = "step" + name
	}
	return filepath.Join(ExercisesDir, name)
}

// ErrExists is Copy's error when the exercise's folder is there already.
var ErrExists = errors.New("the exercise's folder exists")

// Copy copies the code of step e.From (no tests, no READMEs) into dir
// (relative to root, the tutorial's root), and rewrites the step's import
// paths to dir's, so the copy builds where it lands: a step's own
// internal packages can only be imported from inside that step's folder.
// It returns ErrExists, touching nothing, if dir exists.
func Copy(root string, e Exercise, dir string) error {
	from, err := topology.Find(e.From)
	if err != nil {
		return err
	}
	dst := filepath.Join(root, dir)
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("%s: %w", dir, ErrExists)
	}
	src := filepath.Join(root, from.Dir)
	oldImport := paths.Module + "/" + from.Dir
	newImport := paths.Module + "/" + filepath.ToSlash(dir)
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if config := filepath.Ext(path) == ".yaml" || filepath.Ext(path) == ".json"; config {
			// Jaeger's role configs (step 11 on), as they are.
			return copyFile(path, filepath.Join(dst, rel))
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil // tests, READMEs, binaries go build left
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		data = rewriteImports(data, oldImport, newImport)
		// The new import path may sort elsewhere: the copy is formatted,
		// so that an editor that formats on save changes nothing.
		if formatted, err := format.Source(data); err == nil {
			data = formatted
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// rewriteImports replaces the import path old, and those under it, with
// new in a Go file.
func rewriteImports(data []byte, old, new string) []byte {
	data = bytes.ReplaceAll(data, []byte(`"`+old+`/`), []byte(`"`+new+`/`))
	return bytes.ReplaceAll(data, []byte(`"`+old+`"`), []byte(`"`+new+`"`))
}

// StartIn returns the files to start in, relative to the copy: the
// exercise's own list, or the Go files (tests aside) that step e.Check
// adds or changes, compared with step e.From.
func StartIn(root string, e Exercise) ([]string, error) {
	if len(e.StartIn) > 0 {
		return e.StartIn, nil
	}
	from, err := topology.Find(e.From)
	if err != nil {
		return nil, err
	}
	to, err := topology.Find(e.Check)
	if err != nil {
		return nil, err
	}
	fromDir, toDir := filepath.Join(root, from.Dir), filepath.Join(root, to.Dir)
	var files []string
	err = filepath.WalkDir(toDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, err := filepath.Rel(toDir, path)
		if err != nil {
			return err
		}
		theirs, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		mine, err := os.ReadFile(filepath.Join(fromDir, rel))
		if errors.Is(err, fs.ErrNotExist) {
			files = append(files, rel+" (new)")
			return nil
		}
		if err != nil {
			return err
		}
		theirs = rewriteImports(theirs, paths.Module+"/"+to.Dir, paths.Module+"/"+from.Dir)
		if !bytes.Equal(withoutStepComment(theirs), withoutStepComment(mine)) {
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}

// withoutStepComment drops a file's first line when it is the comment that
// names the step ("// Step 5: ..."), which every step rewrites.
func withoutStepComment(data []byte) []byte {
	if bytes.HasPrefix(data, []byte("// Step ")) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return data[i+1:]
		}
	}
	return data
}
