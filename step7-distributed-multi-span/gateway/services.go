package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/ext"
	"github.com/opentracing/opentracing-go/log"

	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/queue"
	"github.com/tracing-tutorial/tutorial/step7-distributed-multi-span/internal/web"
)

// serviceError is a failure of another service, with the status and message
// our client should get.
type serviceError struct {
	status     int
	message    string
	retryAfter string // passed on from a 429
}

func (e *serviceError) Error() string { return e.message }

func writeServiceError(w http.ResponseWriter, err error) {
	var failure *serviceError
	if !errors.As(err, &failure) {
		failure = &serviceError{status: http.StatusBadGateway, message: err.Error()}
	}
	if failure.retryAfter != "" {
		w.Header().Set("Retry-After", failure.retryAfter)
	}
	web.WriteError(w, failure.status, failure.message)
}

// fetchStats asks the contributors service for GitHub's raw statistics. Its
// errors (400, 404, 429, 502, 504) are passed on to our client as they are.
func (a *app) fetchStats(ctx context.Context, owner, repo string) (_ json.RawMessage, err error) {
	statsURL := a.contributorsURL + "/stats/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
	span, ctx := opentracing.StartSpanFromContext(ctx, "fetchStats", ext.SpanKindRPCClient)
	defer span.Finish()
	ext.PeerService.Set(span, "contributors")
	ext.HTTPMethod.Set(span, http.MethodGet)
	ext.HTTPUrl.Set(span, statsURL)
	defer markError(span, &err)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statsURL, nil)
	if err != nil {
		return nil, err
	}
	// The contributors service continues this trace: the span's context
	// travels in the request's headers (uber-trace-id).
	opentracing.GlobalTracer().Inject(span.Context(), opentracing.HTTPHeaders, opentracing.HTTPHeadersCarrier(req.Header))
	resp, err := a.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &serviceError{http.StatusGatewayTimeout, "the contributors service did not answer in time", ""}
		}
		return nil, &serviceError{http.StatusBadGateway, "the contributors service is unreachable", ""}
	}
	defer resp.Body.Close()
	ext.HTTPStatusCode.Set(span, uint16(resp.StatusCode))
	body, err := io.ReadAll(io.LimitReader(resp.Body, 10<<20))
	if err != nil {
		return nil, &serviceError{http.StatusBadGateway, "reading the contributors service's answer: " + err.Error(), ""}
	}
	if resp.StatusCode != http.StatusOK {
		var answer struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &answer) != nil || answer.Error == "" {
			answer.Error = "the contributors service answered " + resp.Status
		}
		return nil, &serviceError{resp.StatusCode, answer.Error, resp.Header.Get("Retry-After")}
	}
	return body, nil
}

// clean queues the statistics for the cleaner and waits for its answer, on
// a reply key of this request's own, for a bounded time.
func (a *app) clean(ctx context.Context, repo string, stats json.RawMessage) ([]queue.Contributor, error) {
	job := queue.Job{ReplyTo: queue.NewReplyKey(), Repo: repo, Stats: stats}
	if err := a.push(ctx, job); err != nil {
		return nil, &serviceError{http.StatusServiceUnavailable, "the queue (Redis) is unavailable; try again shortly", ""}
	}
	reply, err := a.waitForReply(ctx, job.ReplyTo)
	switch {
	case errors.Is(err, queue.ErrNoReply):
		return nil, &serviceError{http.StatusGatewayTimeout, "the cleaner did not answer in time", ""}
	case err != nil:
		return nil, &serviceError{http.StatusServiceUnavailable, "the queue (Redis) is unavailable; try again shortly", ""}
	case reply.Error != "":
		return nil, &serviceError{http.StatusBadGateway, reply.Error, ""}
	}
	return reply.Contributors, nil
}

// push queues job with the context of a producer span inside it, so that
// the cleaner's spans join this trace.
func (a *app) push(ctx context.Context, job queue.Job) (err error) {
	span, ctx := opentracing.StartSpanFromContext(ctx, "queue.Push", ext.SpanKindProducer)
	defer span.Finish()
	ext.MessageBusDestination.Set(span, queue.JobsStream)
	defer markError(span, &err)

	job.Trace = map[string]string{}
	opentracing.GlobalTracer().Inject(span.Context(), opentracing.TextMap, opentracing.TextMapCarrier(job.Trace))
	return queue.Push(ctx, a.redis, job)
}

// waitForReply has a span of its own: the time the cleaner takes, seen
// from here, queueing included.
func (a *app) waitForReply(ctx context.Context, replyTo string) (_ queue.Reply, err error) {
	span, ctx := opentracing.StartSpanFromContext(ctx, "queue.WaitForReply")
	defer span.Finish()
	span.SetTag("reply_to", replyTo)
	defer markError(span, &err)

	return queue.WaitForReply(ctx, a.redis, replyTo, a.replyTimeout)
}

// markError tags span as failed and logs *err, if there is one; call it
// deferred, with the address of the function's named error.
func markError(span opentracing.Span, err *error) {
	if *err != nil {
		ext.Error.Set(span, true)
		span.LogFields(log.Error(*err))
	}
}
