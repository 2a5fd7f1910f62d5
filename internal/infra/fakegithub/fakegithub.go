// Package fakegithub is a stand-in for the one GitHub endpoint the tutorial
// calls: GET /repos/{owner}/{repo}/stats/contributors.
//
// GitHub cannot be reached from our test machines, and without a token it
// allows 60 requests an hour per IP address, which a meetup room behind one
// router spends in minutes. The stand-in answers in GitHub's exact JSON
// shape with synthetic data: the same repository always gets the same
// contributors, and every answer carries the header X-Fake-GitHub so nobody
// mistakes it for the real thing.
//
// It also misbehaves the way the real API does. Options switch the
// behaviours that apply to every repository; a few owner names trigger one
// behaviour each, so a learner (or a test) can ask for it by URL:
//
//	missing/*       404 Not Found: the repository does not exist
//	rate-limited/*  403 with X-RateLimit-Remaining: 0 (primary rate limit),
//	                which resets after RateLimitReset: go-github then refuses
//	                every repository, without asking, until the reset
//	too-many/*      429 with Retry-After (secondary rate limit)
//	computing/*     202 Accepted forever: statistics never get ready
//	slow/*          answers after 30 seconds
//	broken/*        500 Internal Server Error
//	garbled/*       200 whose body is not JSON (an HTML page, as a proxy or
//	                a captive portal in the way sends)
//	overflow/*      200 with statistics no GitHub sends (Overflow): weekly
//	                counts near the largest int64, and negative ones, whose
//	                sums wrap round to negative numbers unless checked
//
// Every other repository gets synthetic statistics, including one or two
// deleted accounts ("author": null), as real repositories have. Names are
// matched as GitHub matches them: in any case, with or without ".git".
package fakegithub

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Options switch behaviours that apply to every repository.
type Options struct {
	// ComputeCalls is how many requests for a repository answer 202 Accepted
	// before its statistics are ready. Real GitHub does this for a repository
	// whose statistics it has not computed recently.
	ComputeCalls int
	// Latency is added before every answer.
	Latency time.Duration
	// SlowDelay is how long the slow/ owner takes to answer; 0 is
	// SlowDelay's 30 s. Shorter, a slow request is slow and not a timeout.
	SlowDelay time.Duration
	// Record keeps the headers of the latest stats requests for Requests.
	// For tests only: the headers hold the caller's token.
	Record bool
}

// RateLimitReset is how soon the rate-limited/ owner's limit resets: soon,
// so that a learner who tried it can go on with the tutorial.
const RateLimitReset = 10 * time.Second

// maxRecorded is how many requests Record keeps, the latest.
const maxRecorded = 1000

// Garbled is the body of the garbled/ owner's answers: not JSON.
const Garbled = "<html><body><h1>502 Bad Gateway</h1></body></html>\n"

// SlowDelay is how long the "slow" owner takes to answer.
const SlowDelay = 30 * time.Second

// Server is an http.Handler that serves the stand-in API.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu       sync.Mutex
	calls    map[string]int // stats requests per "owner/repo"
	requests []http.Header  // with Record: the latest requests' headers, oldest first
}

// New returns a stand-in GitHub with the given behaviours.
func New(opts Options) *Server {
	s := &Server{opts: opts, calls: map[string]int{}, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /repos/{owner}/{repo}/stats/contributors", s.contributorStats)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeMessage(w, http.StatusNotFound, "Not Found")
	})
	return s
}

// Requests returns the headers of the latest stats requests (with
// Options.Record; none without), so tests can check what a program sends
// to GitHub (a token, no trace headers).
func (s *Server) Requests() []http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]http.Header(nil), s.requests...)
}

// ServeHTTP answers GitHub's stats/contributors endpoint and 404 elsewhere.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Fake-GitHub", "synthetic data from the tutorial's stand-in GitHub")
	s.mux.ServeHTTP(w, r)
}

func (s *Server) contributorStats(w http.ResponseWriter, r *http.Request) {
	owner, repo := Canonical(r.PathValue("owner"), r.PathValue("repo"))
	s.mu.Lock()
	if s.opts.Record {
		s.requests = append(s.requests, r.Header.Clone())
		if len(s.requests) > maxRecorded {
			s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRecorded)
		}
	}
	s.calls[owner+"/"+repo]++
	call := s.calls[owner+"/"+repo]
	s.mu.Unlock()

	if !sleep(r, s.opts.Latency) {
		return
	}
	switch owner {
	case "missing":
		writeMessage(w, http.StatusNotFound, "Not Found")
	case "rate-limited":
		w.Header().Set("X-RateLimit-Limit", "60")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(RateLimitReset).Unix(), 10))
		writeMessage(w, http.StatusForbidden, "API rate limit exceeded. (Authenticated requests get a higher rate limit.)")
	case "too-many":
		w.Header().Set("Retry-After", "30")
		writeMessage(w, http.StatusTooManyRequests, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.")
	case "computing":
		w.WriteHeader(http.StatusAccepted)
	case "slow":
		delay := SlowDelay
		if s.opts.SlowDelay > 0 {
			delay = s.opts.SlowDelay
		}
		if sleep(r, delay) {
			writeStats(w, owner, repo)
		}
	case "broken":
		writeMessage(w, http.StatusInternalServerError, "Server Error")
	case "garbled":
		// It says JSON, as a misconfigured proxy may; it is not.
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, Garbled)
	case "overflow":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(Overflow())
	default:
		if call <= s.opts.ComputeCalls {
			w.WriteHeader(http.StatusAccepted) // GitHub sends 202 with an empty body
			return
		}
		writeStats(w, owner, repo)
	}
}

func writeStats(w http.ResponseWriter, owner, repo string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-RateLimit-Limit", "60")
	w.Header().Set("X-RateLimit-Remaining", "59")
	json.NewEncoder(w).Encode(Stats(owner, repo))
}

// writeMessage answers the way GitHub answers errors.
func writeMessage(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{
		"message":           message,
		"documentation_url": "https://docs.github.com/rest/metrics/statistics",
		"status":            fmt.Sprint(status),
	})
}

// sleep waits for d, or until the client gives up; it reports whether the
// client is still waiting.
func sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}
