package main

import (
	"net/http"
	"regexp"
)

// requestedByKey is the baggage item that says who asked: the client's
// name, which the cleaner logs with the job it cleans.
const requestedByKey = "requested-by"

// clientName is what X-Requested-By may say: a short name, no more.
var clientName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// requestedBy is who asked, as the client tells it in X-Requested-By
// (curl -H 'X-Requested-By: alice'), or "anonymous". It is the gateway's
// to say: it replaces any requested-by that the client put in its own
// baggage (baggage: requested-by=…), which is untrusted input. Nothing
// secret goes in baggage: it is sent on every hop, and whoever records it
// (the cleaner tags its span with it) stores it in Jaeger.
func requestedBy(r *http.Request) string {
	if name := r.Header.Get("X-Requested-By"); clientName.MatchString(name) {
		return name
	}
	return "anonymous"
}
