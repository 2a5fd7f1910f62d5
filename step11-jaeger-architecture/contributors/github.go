package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/tracing-tutorial/tutorial/step11-jaeger-architecture/internal/tracing"
	"github.com/tracing-tutorial/tutorial/step11-jaeger-architecture/internal/web"
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
	client := github.NewClient(&http.Client{Transport: otelhttp.NewTransport(http.DefaultTransport,
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()))})
	if !strings.HasSuffix(apiURL, "/") {
		apiURL += "/"
	}
	client.BaseURL, _ = client.BaseURL.Parse(apiURL)
	if token != "" && !tokenSafe(client.BaseURL) {
		slog.Warn("GITHUB_TOKEN not sent: GITHUB_API_URL is neither https:// nor this machine", "GITHUB_API_URL", apiURL)
		token = ""
	}
	if token != "" {
		client = client.WithAuthToken(token)
	}
	return client
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

// GitHub's naming rules: a login is letters, digits and single hyphens
// (at most 39 characters); a repository name is letters, digits, '.', '-'
// and '_' (at most 100). Checking here saves a call that could only fail.
var (
	validOwner = regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`)
	validRepo  = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
)

func validateRepo(owner, repo string) error {
	if len(owner) > 39 || !validOwner.MatchString(owner) {
		return fmt.Errorf("invalid owner %.40q: GitHub logins are letters, digits and single hyphens, at most 39 characters", owner)
	}
	if len(repo) > 100 || !validRepo.MatchString(repo) || repo == "." || repo == ".." {
		return fmt.Errorf("invalid repository name %.100q: letters, digits, '.', '-' and '_', at most 100 characters", repo)
	}
	return nil
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
		if err != nil {
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
