package lesson

import (
	"fmt"
	"strings"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

// The operations the steps name their spans by.
const (
	request      = "GET /git/{owner}/{repo}"   // the gateway's (or monolith's) request span
	statsRequest = "GET /stats/{owner}/{repo}" // the contributors service's request span
	fetch        = "fetchContributorStats"
	count        = "countCommits"
)

// All returns every step's lesson, in order. A new step (8, 9…) adds its
// lesson here, after its programs in internal/infra/topology; then its exercise
// in Exercises, and what a copy of the step before must be told in
// acceptance_test.go (the test fails until it is there).
func All() []Lesson {
	return []Lesson{lesson3(), lesson4(), lesson5(), lesson6(), lesson7(), lesson8(), lesson9(), lesson10()}
}

// The request span of steps 3-5, and of the gateway in steps 6-7.
func requestSpan() Span {
	return Span{
		Service: "gateway", Operation: request,
		Missing: `Jaeger got no span "GET /git/{owner}/{repo}" from the service "gateway": ` +
			`create a tracer (config.FromEnv, ServiceName "gateway", a const sampler), make it the global tracer ` +
			`(opentracing.SetGlobalTracer), start a span named for the route in every request and Finish it, ` +
			`and Close the tracer on exit so the last spans are sent`,
	}
}

func lesson3() Lesson {
	return Lesson{
		Step:          3,
		Title:         "a tracer, one span per request, and its trace ID in X-Trace-Id",
		Requests:      []Request{{Path: "/git/golang/go", Status: 200, Spans: []Span{requestSpan()}}},
		LogsTraceLink: true,
	}
}

// monolithTree is step 4's span tree, which step 5 keeps.
func monolithTree() []Span {
	return []Span{
		requestSpan(),
		{Service: "gateway", Operation: fetch, Parent: request,
			Missing: `no span for the GitHub call (fetchContributorStats) reached Jaeger. A span is sent only once it ` +
				`is finished: does fetchContributorStats defer span.Finish()? If it has no span yet, start one with ` +
				`opentracing.StartSpanFromContext(ctx, "fetchContributorStats")`,
			Detached: `the span for the GitHub call (fetchContributorStats) starts a trace of its own: start it with ` +
				`opentracing.StartSpanFromContext(ctx, "fetchContributorStats"), which makes it a child of the span ctx ` +
				`carries; opentracing.StartSpan(name) alone, or a ctx of context.Background(), starts a new trace. ` +
				`The ctx is the request's: r.Context(), passed down`},
		{Service: "gateway", Operation: count, Parent: request,
			Missing: `no span for counting the commits (countCommits) reached Jaeger. A span is sent only once it is ` +
				`finished: does countCommits defer span.Finish()? If it has no span yet, give countCommits a ctx ` +
				`parameter and start one with opentracing.StartSpanFromContext(ctx, "countCommits")`,
			Detached: `the span countCommits starts a trace of its own: start it with ` +
				`opentracing.StartSpanFromContext(ctx, "countCommits") from the handler's ctx (r.Context(), passed ` +
				`down); opentracing.StartSpan(name) alone, or a ctx of context.Background(), starts a new trace`},
	}
}

func lesson4() Lesson {
	return Lesson{
		Step:     4,
		Title:    "child spans through context.Context: which function is slow",
		Requests: []Request{{Path: "/git/golang/go", Status: 200, Spans: monolithTree()}},
	}
}

func lesson5() Lesson {
	const requestHint = `tag the request's span: span.SetTag("repo", owner+"/"+repo) in the handler, ` +
		`and OpenTracing's standard tags (ext.SpanKindRPCServer, ext.HTTPMethod, ext.HTTPUrl, ext.HTTPStatusCode, ` +
		`ext.Error for a 5xx) where the span starts and ends`
	const fetchHint = `tag the GitHub call's span as a client (ext.SpanKindRPCClient) with GitHub's status ` +
		`(ext.HTTPStatusCode, from the response) and, when it fails, ext.Error.Set(span, true) and span.LogFields(log.Error(err))`

	ok := monolithTree()
	ok[0].Tags = map[string]string{
		"repo": "golang/go", "span.kind": "server", "http.method": "GET",
		"http.url": "/git/golang/go", "http.status_code": "200",
	}
	ok[0].Hint = requestHint
	ok[2].Logs = []Log{{"event", "waiting for the login index lock"}, {"event", "login index locked"}}
	ok[2].Hint = `log on countCommits' span when a request waits for the login index lock and when it has it ` +
		`(span.LogFields(log.String("event", …)) around loginIndex.Lock() in wild.go): that is what solves the mystery`
	ok[2].Also = contributorsLogged("golang", "go")

	broken := monolithTree()[:2] // no counting: GitHub failed
	broken[0].Tags = map[string]string{"repo": "broken/repo", "http.status_code": "502", "error": "true"}
	broken[0].Hint = requestHint
	broken[1].Tags = map[string]string{"span.kind": "client", "http.status_code": "500", "error": "true"}
	broken[1].Hint = fetchHint
	broken[1].Also = func(s jaeger.Span) string {
		url, ok := s.Tag("http.url")
		if !ok || !strings.HasSuffix(fmt.Sprint(url), "/repos/broken/repo/stats/contributors") {
			return fmt.Sprintf(`span "fetchContributorStats": tag http.url = %q, want GitHub's URL, …/repos/broken/repo/stats/contributors: `+
				`ext.HTTPUrl.Set(span, …)`, tagValue(url, ok))
		}
		for _, l := range s.Logs {
			if strings.Contains(fmt.Sprint(l.Fields), "500") {
				return ""
			}
		}
		return fmt.Sprintf(`span "fetchContributorStats" has no log of GitHub's error (its logs: %s): span.LogFields(log.Error(err)) when the call fails`, logs(s))
	}
	return Lesson{
		Step:  5,
		Title: "tags and logs: which request, and why",
		// The lock's logs are the misbehaviour's: on, as in the workshop.
		// golang/go is small, so it takes the lock without the slow rebuild.
		Env: map[string]string{"BAD_THINGS": "on"},
		Requests: []Request{
			{Path: "/git/golang/go", Status: 200, Spans: ok},
			{Path: "/git/broken/repo", Status: 502, Spans: broken},
		},
	}
}

func tagValue(value any, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprint(value)
}

// contributorsLogged checks that countCommits logged the number of
// contributors it counted for owner/repo, not 0.
func contributorsLogged(owner, repo string) func(jaeger.Span) string {
	logins := map[string]bool{} // the stand-in's contributors; no author is "ghost"
	for _, stat := range fakegithub.Stats(owner, repo) {
		login := "ghost"
		if stat.Author != nil {
			login = stat.Author.Login
		}
		logins[login] = true
	}
	want := fmt.Sprint(len(logins))
	return func(s jaeger.Span) string {
		got, ok := LogValue(s, "contributors")
		switch {
		case !ok:
			return `span "countCommits" has no log "contributors": log how many contributors it counted, ` +
				`span.LogFields(log.Int("contributors", len(contributors)))`
		case got != want:
			return fmt.Sprintf(`span "countCommits" logged contributors=%s, but %s/%s has %s contributors: `+
				`log the count after the loop that computes it, not before`, got, owner, repo, want)
		}
		return ""
	}
}

// serverSpan is the request span of the gateway in steps 6 on, a server
// span as in step 5.
func serverSpan() Span {
	s := requestSpan()
	s.Tags = map[string]string{"span.kind": "server"}
	s.Hint = `the span that serves a request is its server: ext.SpanKindRPCServer`
	return s
}

func lesson6() Lesson {
	return Lesson{
		Step:  6,
		Title: "three services over HTTP and a Redis queue: one span again, blind to the others",
		Requests: []Request{{Path: "/git/golang/go", Status: 200, Spans: []Span{
			serverSpan(),
		}}},
	}
}

func lesson7() Lesson {
	tree := []Span{
		serverSpan(),
		{Service: "gateway", Operation: "fetchStats", Parent: request, Tags: map[string]string{"span.kind": "client"},
			Missing: `no span "fetchStats" in the gateway around its call to the contributors service: start a client span ` +
				`(opentracing.StartSpanFromContext(ctx, "fetchStats", ext.SpanKindRPCClient)) from the request's context`,
			Hint: `a span that calls another service is its client: ext.SpanKindRPCClient`},
		{Service: "contributors", Operation: statsRequest, Parent: "fetchStats", Tags: map[string]string{"span.kind": "server"},
			Ref: jaeger.ChildOf,
			WrongRef: `the gateway waits for the contributors service's answer, so its span is fetchStats' child: ` +
				`start it with opentracing.ChildOf(the extracted context)`,
			Hint: `the span that serves a request is its server: ext.SpanKindRPCServer`,
			Missing: `no span of the contributors service in Jaeger at all: it needs a tracer of its own ` +
				`(tracing.Init("contributors", …), closed on exit) and a span for every request (tracing.TraceRequest)`,
			Detached: `the contributors service's span starts a new trace: did the gateway inject its span context into ` +
				`the request's headers (Tracer.Inject with opentracing.HTTPHeaders), and does contributors extract it ` +
				`(Tracer.Extract) and start its span as a child (opentracing.ChildOf)?`},
		{Service: "contributors", Operation: fetch, Parent: statsRequest, Tags: map[string]string{"span.kind": "client"},
			Hint: `the span of a call to GitHub is its client: ext.SpanKindRPCClient`,
			Missing: `no span for the GitHub call (fetchContributorStats) in the contributors service: ` +
				`start it from the request's context with opentracing.StartSpanFromContext`},
		{Service: "gateway", Operation: "queue.Push", Parent: request, Tags: map[string]string{"span.kind": "producer"},
			Missing: `no span "queue.Push" in the gateway: start a producer span (ext.SpanKindProducer) from the ` +
				`request's context around pushing the job, and put its context in the message`,
			Hint: `the span that sends a message is its producer: ext.SpanKindProducer`},
		{Service: "cleaner", Operation: "cleanJob", Parent: "queue.Push", Tags: map[string]string{"span.kind": "consumer"},
			Ref: jaeger.FollowsFrom,
			WrongRef: `the gateway does not wait for the job (it waits for the reply, in queue.WaitForReply), so ` +
				`"cleanJob" follows from queue.Push: start it with opentracing.FollowsFrom(the extracted context), not ` +
				`opentracing.ChildOf, and Jaeger marks it "follows from"`,
			Missing: `no span of the cleaner in Jaeger at all: it needs a tracer of its own ` +
				`(tracing.Init("cleaner", …), closed on exit) and a span "cleanJob" for every job`,
			Detached: `the cleaner's span starts a new trace: is the span context in the message? Inject queue.Push's ` +
				`span context into the message's headers (Tracer.Inject with opentracing.TextMap), extract it in the ` +
				`cleaner, and start "cleanJob" from it (opentracing.FollowsFrom: the producer does not wait for the job)`,
			Hint: `the span that handles a message is its consumer: ext.SpanKindConsumer`},
		{Service: "cleaner", Operation: count, Parent: "cleanJob",
			Missing: `no span "countCommits" in the cleaner: start it from cleanJob's context (opentracing.ContextWithSpan, then StartSpanFromContext)`},
		{Service: "gateway", Operation: "queue.WaitForReply", Parent: request,
			Missing: `no span "queue.WaitForReply" in the gateway: time the wait for the cleaner's reply, ` +
				`the cleaner's time as the user feels it`},
	}
	return Lesson{
		Step:  7,
		Title: "propagation over HTTP headers and inside queue messages: one trace across three services",
		Requests: []Request{
			{Path: "/git/golang/go", Status: 200, Spans: tree, NoOrphans: true},
			// The trust boundary: a client's own trace context is recorded,
			// not continued.
			{Path: "/git/golang/go", Status: 200, FromClient: true, Spans: []Span{requestSpan()}},
		},
	}
}

// baggageTree is step 7's tree, whose cleaner also says who asked: alice,
// in the request's X-Requested-By, carried two hops as baggage.
func baggageTree() []Span {
	tree := lesson7().Requests[0].Spans
	for i := range tree {
		if tree[i].Operation == "cleanJob" {
			tree[i].Tags = map[string]string{"span.kind": "consumer", "requested_by": "alice"}
			tree[i].Hint = `the span that handles a message is its consumer (ext.SpanKindConsumer); and who asked comes ` +
				`as baggage: the gateway sets it from X-Requested-By (span.SetBaggageItem("requested-by", …)), it travels ` +
				`with the span context in the request's and the message's headers, and the cleaner reads it ` +
				`(span.BaggageItem("requested-by")) and tags its span requested_by`
		}
	}
	return tree
}

func lesson8() Lesson {
	// A name that is no short name, and the client's own requested-by in
	// its baggage: the gateway says "anonymous", whatever the client says.
	var stranger []Span
	for _, span := range baggageTree() {
		if span.Operation == request || span.Operation == "queue.Push" || span.Operation == "cleanJob" {
			stranger = append(stranger, span)
		}
	}
	stranger[2].Tags = map[string]string{"span.kind": "consumer"}
	stranger[2].Also = func(s jaeger.Span) string {
		got, ok := s.Tag("requested_by")
		switch value := fmt.Sprint(got); {
		case ok && value == "anonymous":
			return ""
		case value == "admin":
			return `the client's own baggage (uberctx-requested-by: admin) reached the cleaner: who asked is the ` +
				`gateway's to say, so set requested-by on every request, "anonymous" when X-Requested-By is not a ` +
				`short name; that replaces whatever the client put in its baggage`
		default:
			return fmt.Sprintf(`a request whose X-Requested-By is no short name (100 letters) must be cleaned for `+
				`"anonymous", but cleanJob has requested_by=%q: accept a short name (at most 32 letters, digits, . _ -) `+
				`and otherwise set "anonymous"`, tagValue(got, ok))
		}
	}
	return Lesson{
		Step:  8,
		Title: "baggage: who asked travels with the trace to the cleaner, two hops away",
		Requests: []Request{
			{Path: "/git/golang/go", Status: 200, Header: map[string]string{"X-Requested-By": "alice"},
				Spans: baggageTree(), NoOrphans: true,
				Logged: []Logged{{Program: "cleaner", Text: "requested_by=alice",
					Missing: `the cleaner logged no requested_by=alice: log who it cleaned for with the job ` +
						`(logger.Info("cleaned", …, "requested_by", requestedBy)), so its log says who asked too`}}},
			{Path: "/git/golang/go", Status: 200,
				Header: map[string]string{"X-Requested-By": strings.Repeat("x", 100), "Uberctx-Requested-By": "admin"},
				Spans:  stranger},
		},
	}
}

// lesson9 is step 8's promise, kept on OpenTelemetry's SDK: the same tree
// (the cleaner's span a child of queue.Push, or the queue hop would split
// the trace in two), the baggage, spans sent over OTLP.
func lesson9() Lesson {
	tree := baggageTree()
	tree[0].Missing = `Jaeger got no span "GET /git/{owner}/{repo}" from the service "gateway" over OTLP: step 9 reports ` +
		`with OpenTelemetry's SDK (OTEL_EXPORTER_OTLP_ENDPOINT): set up a TracerProvider with the otlptracehttp exporter ` +
		`and a resource naming the service, wrap it in the OpenTracing bridge (otelbridge.NewTracerPair) and make that ` +
		`the global tracer, set the W3C propagators (TraceContext and Baggage) as otel's global propagator, and Shutdown ` +
		`the provider on exit`
	for i := range tree {
		if tree[i].Operation == "cleanJob" {
			tree[i].Detached = `the cleaner's span starts a new trace: with OpenTelemetry a FollowsFrom reference alone becomes ` +
				`a link to another trace; start "cleanJob" as the producer's child (opentracing.ChildOf), and check that the ` +
				`message's headers carry traceparent (the global propagator must be set)`
			tree[i].Ref = jaeger.ChildOf
			tree[i].WrongRef = `OpenTelemetry has no FOLLOWS_FROM: the bridge makes "cleanJob" queue.Push's child (opentracing.ChildOf)`
		}
	}
	return Lesson{
		Step:     9,
		Title:    "the same instrumentation on OpenTelemetry's SDK, through the OpenTracing bridge",
		Requests: []Request{{Path: "/git/golang/go", Status: 200, Header: map[string]string{"X-Requested-By": "alice"}, Spans: tree, NoOrphans: true}},
	}
}

// clientCall is the name otelhttp's transport gives a client span: step
// 10's calls to the contributors service and to GitHub.
const clientCall = "HTTP GET"

// lesson10 is step 9's trace made with OpenTelemetry's own API: otelhttp's
// server and client spans, with HTTP's semantic conventions, instead of
// hand-written ones; the queue hop through the global propagator, with
// the messaging conventions; the business spans still ours.
func lesson10() Lesson {
	const propagator = `is the global propagator set (otel.SetTextMapPropagator with propagation.TraceContext{} and ` +
		`propagation.Baggage{}, in every program's tracing.Init)? otelhttp and the queue inject and extract with it, and ` +
		`until it is set it does nothing, without an error`
	const server = `the span that serves a request is otelhttp's: wrap the program's handler in otelhttp.NewHandler ` +
		`(main.go), which names it for the route and tags it with HTTP's semantic conventions (http.request.method, ` +
		`http.response.status_code, url.path), not OpenTracing's (http.method, http.status_code)`
	const messaging = `follow OpenTelemetry's messaging conventions: start the span with trace.WithSpanKind and ` +
		`the attributes messaging.system, messaging.destination.name, messaging.operation.type and messaging.message.id ` +
		`(package go.opentelemetry.io/otel/semconv/v1.43.0)`
	hasMessageID := func(s jaeger.Span) string {
		if id, ok := s.Tag("messaging.message.id"); !ok || fmt.Sprint(id) == "" {
			return fmt.Sprintf(`span %q has no tag messaging.message.id: the job's ID in the stream (queue.Push: the ticket's ID; `+
				`the cleaner: the message's ID), which joins the producer's and the consumer's spans of one job`, s.OperationName)
		}
		return ""
	}
	tree := []Span{
		{Service: "gateway", Operation: request,
			Tags: map[string]string{"span.kind": "server", "http.request.method": "GET", "http.response.status_code": "200"},
			Hint: server,
			Missing: `Jaeger got no span "GET /git/{owner}/{repo}" from the service "gateway": step 10 makes it with otelhttp. ` +
				`Set up OpenTelemetry's SDK (a TracerProvider with the otlptracehttp exporter, made the global one with ` +
				`otel.SetTracerProvider, and Shutdown on exit), and wrap the gateway's handler in otelhttp.NewHandler (main.go): ` +
				`the handler not wrapped makes no span at all`},
		{Service: "gateway", Operation: clientCall, Parent: request,
			Tags: map[string]string{"span.kind": "client", "http.request.method": "GET", "http.response.status_code": "200"},
			Missing: `no client span "HTTP GET" in the gateway for its call to the contributors service: give the gateway's ` +
				`http.Client otelhttp's transport (Transport: otelhttp.NewTransport(http.DefaultTransport)); it makes the client ` +
				`span and puts its context in the request's headers, in place of fetchStats' span and Inject`,
			Detached: `the gateway's client span "HTTP GET" starts a trace of its own: the context was not passed to the client. ` +
				`Build the request with http.NewRequestWithContext(ctx, …), ctx from the request's (r.Context()), not ` +
				`http.NewRequest or context.Background(): otelhttp's transport finds the parent span in the request's context`},
		{Service: "contributors", Operation: statsRequest, Parent: clientCall,
			Tags: map[string]string{"span.kind": "server", "http.request.method": "GET"},
			Hint: server,
			Missing: `no span of the contributors service in Jaeger at all: it needs OpenTelemetry's SDK of its own ` +
				`(tracing.Init(ctx, "contributors", …), Shutdown on exit) and its handler wrapped in otelhttp.NewHandler`,
			Detached: `the contributors service's span starts a new trace: the trace context did not cross the HTTP call. ` +
				`Does the gateway's client use otelhttp's transport, with the request's context? And ` + propagator},
		{Service: "contributors", Operation: fetch, Parent: statsRequest,
			Missing: `no span for the GitHub call (fetchContributorStats) in the contributors service: no library knows ` +
				`what a fetch with its retries is; start it yourself from the request's context, ` +
				`otel.Tracer(tracing.Scope).Start(ctx, "fetchContributorStats"), and End it`},
		{Service: "contributors", Operation: clientCall, Parent: fetch, Tags: map[string]string{"span.kind": "client"},
			Missing: `no client span "HTTP GET" under fetchContributorStats for the call to GitHub: give the GitHub client ` +
				`otelhttp's transport (github.NewClient(&http.Client{Transport: otelhttp.NewTransport(…)})), with no ` +
				`propagator (otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator())): GitHub is a third party ` +
				`and gets neither our trace context nor our baggage`},
		{Service: "gateway", Operation: "queue.Push", Parent: request, Hint: messaging, Also: hasMessageID,
			Tags: map[string]string{"span.kind": "producer", "messaging.system": "redis",
				"messaging.destination.name": "contributors:jobs", "messaging.operation.type": "send"},
			Missing: `no span "queue.Push" in the gateway: no library knows our queue; start a producer span ` +
				`(otel.Tracer(tracing.Scope).Start(ctx, "queue.Push", trace.WithSpanKind(trace.SpanKindProducer))) around ` +
				`pushing the job, and put its context in the message's headers`},
		{Service: "cleaner", Operation: "cleanJob", Parent: "queue.Push", Hint: messaging, Also: hasMessageID,
			Ref:      jaeger.ChildOf,
			WrongRef: `step 10 starts "cleanJob" as queue.Push's child, from the ctx the propagator extracted (its README says why, and shows the link)`,
			Tags: map[string]string{"span.kind": "consumer", "messaging.system": "redis",
				"messaging.destination.name": "contributors:jobs", "messaging.operation.type": "process", "requested_by": "alice"},
			Missing: `no span of the cleaner in Jaeger at all: it needs OpenTelemetry's SDK of its own ` +
				`(tracing.Init(ctx, "cleaner", …), Shutdown on exit) and a consumer span "cleanJob" for every job`,
			Detached: `the cleaner's span starts a new trace: is the span context in the message? In queue.Push, ` +
				`otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(msg.Headers)) with queue.Push's ctx; in the ` +
				`cleaner, Extract from the message's headers into the ctx that starts "cleanJob" as its child. And ` + propagator},
		{Service: "cleaner", Operation: count, Parent: "cleanJob",
			Missing: `no span "countCommits" in the cleaner: start it from cleanJob's ctx, otel.Tracer(tracing.Scope).Start(ctx, "countCommits")`},
		{Service: "gateway", Operation: "queue.WaitForReply", Parent: request, Also: hasMessageID,
			Missing: `no span "queue.WaitForReply" in the gateway: time the wait for the cleaner's reply, ` +
				`the cleaner's time as the user feels it`},
	}
	return Lesson{
		Step:     10,
		Title:    "OpenTelemetry's own API: otelhttp for HTTP, the queue hop by hand, semantic conventions",
		Requests: []Request{{Path: "/git/golang/go", Status: 200, Header: map[string]string{"X-Requested-By": "alice"}, Spans: tree, NoOrphans: true}},
	}
}
