package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/tracing-tutorial/tutorial/internal/steplib/jobqueue"
	"github.com/tracing-tutorial/tutorial/internal/steplib/web"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/job"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// fetchStats asks the contributors service for GitHub's raw statistics. Its
// errors (400, 404, 429, 502, 504) are passed on to our client as they are.
//
// No span of our own: a.http's transport (otelhttp) makes the client span,
// with the method, URL, server and status, and puts its context in the
// request's headers. It needs the request's ctx to find its parent.
func (a *app) fetchStats(ctx context.Context, owner, repo string) (json.RawMessage, error) {
	statsURL := a.contributorsURL + "/stats/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		// The cause is on otelhttp's span; our client gets less: it names
		// an address.
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, web.Fail(http.StatusGatewayTimeout, "the contributors service did not answer in time", "")
		}
		return nil, web.Fail(http.StatusBadGateway, "the contributors service is unreachable", "")
	}
	defer resp.Body.Close()
	// More than the queue takes is of no use: stop reading there.
	body, err := io.ReadAll(io.LimitReader(resp.Body, jobqueue.MaxBody+1))
	if err != nil {
		return nil, web.Fail(http.StatusBadGateway, "reading the contributors service's answer: "+err.Error(), "")
	}
	if len(body) > jobqueue.MaxBody {
		return nil, errStatsTooLarge
	}
	if resp.StatusCode != http.StatusOK {
		var answer struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &answer) != nil || answer.Error == "" {
			answer.Error = "the contributors service answered " + resp.Status
		}
		return nil, web.Fail(resp.StatusCode, answer.Error, resp.Header.Get("Retry-After"))
	}
	return body, nil
}

// clean queues the statistics for the cleaner and waits for its answer,
// the contributors as JSON, for REPLY_TIMEOUT at most.
func (a *app) clean(ctx context.Context, repo string, stats json.RawMessage) (json.RawMessage, error) {
	body, err := json.Marshal(job.Job{Repo: repo, Stats: stats})
	if err != nil {
		return nil, err
	}
	ticket, err := a.push(ctx, body)
	if err != nil {
		return nil, queueError(err)
	}
	answer, err := a.waitForAnswer(ctx, ticket)
	if err != nil {
		return nil, queueError(err)
	}
	return answer, nil
}

// errStatsTooLarge: the statistics are more than a job may carry.
var errStatsTooLarge = web.Fail(http.StatusBadGateway, "the repository's statistics are too large for the queue", "")

// queueError tells our client what went wrong on the way to the cleaner
// and back, and whose problem it is.
func queueError(err error) error {
	var failed *jobqueue.JobError
	switch {
	case errors.Is(err, jobqueue.ErrNoAnswer):
		return web.Fail(http.StatusGatewayTimeout, "the cleaner did not answer in time", "")
	case errors.As(err, &failed):
		return web.Fail(http.StatusBadGateway, failed.Reason, "")
	case errors.Is(err, jobqueue.ErrFull):
		return web.Fail(http.StatusServiceUnavailable, "the queue is full; try again shortly", "5")
	case errors.Is(err, jobqueue.ErrBusy): // as many of our clients wait as we let wait
		return web.Fail(http.StatusServiceUnavailable, "too many requests are waiting for the cleaner; try again shortly", "5")
	case errors.Is(err, jobqueue.ErrTooLarge):
		return errStatsTooLarge
	}
	// Redis is down or hangs: try again later.
	return web.Fail(http.StatusServiceUnavailable, "the queue (Redis) is unavailable; try again shortly", "5")
}

// push queues the job with the context of a producer span in its headers,
// so that the cleaner's spans join this trace. No library knows our queue:
// this span is ours, with OpenTelemetry's messaging attributes.
func (a *app) push(ctx context.Context, body []byte) (jobqueue.Ticket, error) {
	ctx, span := otel.Tracer(tracing.Scope).Start(ctx, "queue.Push",
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			semconv.MessagingSystemKey.String("redis"), // not one of the conventions' names: any will do
			semconv.MessagingDestinationName(a.queue.Stream),
			semconv.MessagingOperationTypeSend,
		))
	defer span.End()

	// The global propagator writes this span's context (traceparent) and
	// the baggage into the job's headers, as otelhttp does into a request's.
	msg := jobqueue.Message{Headers: map[string]string{}, Body: body}
	otel.GetTextMapPropagator().Inject(ctx, propagation.MapCarrier(msg.Headers))
	ticket, err := a.queue.Push(ctx, msg, a.replyTimeout)
	if err != nil {
		traceError(ctx, span, err)
		return ticket, err
	}
	span.SetAttributes(semconv.MessagingMessageID(ticket.ID))
	return ticket, nil
}

// waitForAnswer has a span of its own: the cleaner's time as the user
// feels it, queueing included.
func (a *app) waitForAnswer(ctx context.Context, ticket jobqueue.Ticket) (json.RawMessage, error) {
	ctx, span := otel.Tracer(tracing.Scope).Start(ctx, "queue.WaitForReply",
		trace.WithAttributes(semconv.MessagingMessageID(ticket.ID)))
	defer span.End()

	answer, err := a.queue.WaitForAnswer(ctx, ticket)
	if err != nil {
		traceError(ctx, span, err)
	}
	return answer, err
}

// traceError marks span as failed with err. If our client gave up (ctx is
// canceled), nothing failed: the span only has an event that says so.
func traceError(ctx context.Context, span trace.Span, err error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		span.AddEvent("the client gave up", trace.WithAttributes(attribute.String("message", err.Error())))
		return
	}
	tracing.Failed(span, err)
}
