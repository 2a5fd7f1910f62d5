package main

import (
	"context"
	"net/http"
	"regexp"

	"go.opentelemetry.io/otel/baggage"
)

// requestedByKey is the baggage item that says who asked: the client's
// name, which the cleaner logs with the job it cleans.
const requestedByKey = "requested-by"

// clientName is what X-Requested-By may say: a short name, no more.
var clientName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)

// requestedBy is who asked, as the client tells it in X-Requested-By
// (curl -H 'X-Requested-By: alice'), or "anonymous". It is the gateway's
// to say: it replaces any requested-by that the client put in its own
// baggage, which is untrusted input. Nothing secret goes in baggage: it is
// sent on every hop, and whoever records it (our cleaner) stores it.
func requestedBy(r *http.Request) string {
	if name := r.Header.Get("X-Requested-By"); clientName.MatchString(name) {
		return name
	}
	return "anonymous"
}

// withRequestedBy returns ctx with name as the baggage item requestedByKey,
// in place of any the client sent. OpenTelemetry's baggage lives in the
// context, not on a span: whatever propagates ctx carries it.
func withRequestedBy(ctx context.Context, name string) context.Context {
	member, err := baggage.NewMemberRaw(requestedByKey, name)
	if err != nil {
		return ctx // not a valid item: requestedBy's names always are
	}
	bag, err := baggage.FromContext(ctx).SetMember(member)
	if err != nil {
		return ctx
	}
	return baggage.ContextWithBaggage(ctx, bag)
}
