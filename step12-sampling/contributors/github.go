package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/tracing"
	"github.com/tracing-tutorial/tutorial/step12-sampling/internal/web"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// newGitHubClient talks to apiURL (GitHub's, or the stand-in's). A token, if
// given, is sent as a bearer token and lifts the limit of 60 requests an hour.
// It goes over HTTPS, or to this machine: never in clear text across a
// network (the stand-in in docker compose gets none, and needs none).
//
// otelhttp's transport makes a client span for every call to GitHub, with
// its URL and status. It propagates nothing: GitHub is a third party, and
// our trace context and baggage are none of its business.
func newGitHubClient(apiURL, token string) *github.Client {
	client := github.NewClient(&http.Client{Transport: otelhttp.NewTransport(hideToken{token},
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator())), CheckRedirect: sameHost})
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	client.BaseURL, _ = client.BaseURL.Parse(apiURL)
	// A user:password@ in GITHUB_API_URL would be repeated in go-github's
	// errors and in our spans. GitHub takes a token instead.
	if client.BaseURL != nil && client.BaseURL.User != nil {
		client.BaseURL.User = nil
		slog.Warn("GITHUB_API_URL's user:password@ is not used: set GITHUB_TOKEN instead", "GITHUB_API_URL", client.BaseURL)
	}
	if token != "" && !tokenSafe(client.BaseURL) {
		slog.Warn("GITHUB_TOKEN not sent: GITHUB_API_URL is neither https:// nor this machine", "GITHUB_API_URL", client.BaseURL)
		token = ""
	}
	if token != "" {
		client = client.WithAuthToken(token)
	}
	return client
}

// sameHost is the client's redirect policy. go-github adds the token to
// every request, redirects included: we follow GitHub's redirects within
// its API (a renamed repository moves) and refuse one to another scheme or
// host, which would get the token too.
func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("GitHub redirected to another host, %s: not followed, the token would go along", req.URL.Host)
	}
	return nil
}

// hideToken takes the token out of GitHub's error answers before go-github
// reads them: a message that echoes our request, Authorization and all,
// would carry it into the errors we log and put in spans.
type hideToken struct{ token string }

func (h hideToken) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 || h.token == "" {
		return resp, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20)) // a message, not statistics
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	body = bytes.ReplaceAll(body, []byte(h.token), []byte("[GITHUB_TOKEN]"))
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	return resp, nil
}

// tokenSafe reports whether a token may go to base: over HTTPS, or over
// plain HTTP to this machine's loopback (localhost, 127.0.0.1, ::1).
func tokenSafe(base *url.URL) bool {
	if base == nil {
		return false
	}
	ip := net.ParseIP(base.Hostname())
	return base.Scheme == "https" ||
		base.Scheme == "http" && (base.Hostname() == "localhost" || ip != nil && ip.IsLoopback())
}

// GitHub computes statistics in the background: a repository it has not
// computed recently answers 202 Accepted with an empty body. We ask again
// after these pauses (a few seconds in all) and then give up. The talk's
// demo took the empty 202 for "no contributors".
var statsRetryDelays = []time.Duration{
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second,
}

var errStatsNotReady = errors.New("GitHub is still computing this repository's statistics; try again in a few seconds")

func fetchContributorStats(ctx context.Context, client *github.Client, owner, repo string) (_ []*github.ContributorStats, err error) {
	// A child of the request's span, which ctx carries; the new ctx carries
	// this span in turn, for anything we call from here: each call to
	// GitHub is otelhttp's client span under this one, which stands for
	// the whole fetch, 202 retries included.
	ctx, span := otel.Tracer(tracing.Scope).Start(ctx, "fetchContributorStats")
	defer span.End()
	span.SetAttributes(attribute.String("repo", owner+"/"+repo))
	defer func() {
		if errors.Is(err, context.Canceled) { // our client gave up: no failure of ours
			span.AddEvent("the client gave up")
		} else if err != nil {
			tracing.Failed(span, err) // the status, and an event: what went wrong, and when
		}
	}()

	for attempt := 0; ; attempt++ {
		stats, _, err := client.Repositories.ListContributorsStats(ctx, owner, repo)
		var accepted *github.AcceptedError
		if !errors.As(err, &accepted) {
			return stats, err
		}
		if attempt == len(statsRetryDelays) {
			return nil, errStatsNotReady
		}
		span.AddEvent("statistics not ready (202), retrying", trace.WithAttributes(
			attribute.Int("attempt", attempt+1),
			attribute.String("retry_in", statsRetryDelays[attempt].String()),
		))
		select {
		case <-time.After(statsRetryDelays[attempt]):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// writeGitHubError tells the client whose problem it is: its own (404),
// a matter of waiting (429), or GitHub's (502, 504). The talk's GitHub proxy
// answered 200 whatever happened.
func writeGitHubError(w http.ResponseWriter, err error) {
	var (
		rateLimit *github.RateLimitError
		secondary *github.AbuseRateLimitError
		response  *github.ErrorResponse
	)
	switch {
	case errors.As(err, &rateLimit):
		retryAfter(w, time.Until(rateLimit.Rate.Reset.Time))
		web.WriteError(w, http.StatusTooManyRequests, "GitHub's rate limit is exhausted; set GITHUB_TOKEN or try again later")
	case errors.As(err, &secondary):
		retryAfter(w, secondary.GetRetryAfter())
		web.WriteError(w, http.StatusTooManyRequests, "GitHub's secondary rate limit was hit; try again later")
	case errors.As(err, &response) && response.Response.StatusCode == http.StatusTooManyRequests:
		seconds, _ := strconv.Atoi(response.Response.Header.Get("Retry-After"))
		retryAfter(w, time.Duration(seconds)*time.Second)
		web.WriteError(w, http.StatusTooManyRequests, "GitHub's rate limit was hit; try again later")
	case errors.As(err, &response) && response.Response.StatusCode == http.StatusNotFound:
		web.WriteError(w, http.StatusNotFound, "repository not found on GitHub")
	case errors.Is(err, context.Canceled):
		// Our client gave up before we answered: no failure of ours, and
		// nobody reads this. nginx's 499 ("client closed request") says so.
		web.WriteError(w, 499, "the client closed the request")
	case errors.Is(err, context.DeadlineExceeded):
		web.WriteError(w, http.StatusGatewayTimeout, "GitHub did not answer in time")
	case errors.Is(err, errStatsNotReady):
		web.WriteError(w, http.StatusBadGateway, err.Error())
	case errors.As(err, &response):
		web.WriteError(w, http.StatusBadGateway, "GitHub answered "+response.Response.Status)
	default:
		// err names GitHub's address, perhaps an internal one: not for the
		// client.
		web.WriteError(w, http.StatusBadGateway, "GitHub request failed")
	}
}

// retryAfter sets the Retry-After header in whole seconds, at least one.
func retryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.5))))
}
