package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/tracing-tutorial/tutorial/step6-distributed-single-span/internal/queue"
	"github.com/tracing-tutorial/tutorial/step6-distributed-single-span/internal/web"
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
func (a *app) fetchStats(ctx context.Context, owner, repo string) (json.RawMessage, error) {
	statsURL := a.contributorsURL + "/stats/" + url.PathEscape(owner) + "/" + url.PathEscape(repo)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, statsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &serviceError{http.StatusGatewayTimeout, "the contributors service did not answer in time", ""}
		}
		return nil, &serviceError{http.StatusBadGateway, "the contributors service is unreachable", ""}
	}
	defer resp.Body.Close()
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
	if err := queue.Push(ctx, a.redis, job); err != nil {
		return nil, &serviceError{http.StatusServiceUnavailable, "the queue (Redis) is unavailable; try again shortly", ""}
	}
	reply, err := queue.WaitForReply(ctx, a.redis, job.ReplyTo, a.replyTimeout)
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
