package tracing

import (
	"net/http"
	"strings"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/log"
)

// Baggage is what a span context carries besides the trace: key-value
// items that travel with it to every service downstream. OpenTelemetry
// sends them all in one W3C header, "baggage: k1=v1,k2=v2".

// BaggageLimits is how much baggage a service accepts from its clients.
type BaggageLimits struct {
	Items int // items, at most
	Bytes int // bytes of their headers (names and values), at most
}

// TraceEdgeRequest is TraceRequest for a service that faces clients it does
// not trust. Their baggage is input like any other: whatever it accepts
// travels on to every service behind it, on every call. A client that
// sends more baggage than limits allow gets none of it accepted: its
// request is traced without it, and the span logs what was dropped.
func TraceEdgeRequest(limits BaggageLimits, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		items, size := baggageIn(r.Header)
		dropped := items > limits.Items || size > limits.Bytes
		if dropped {
			r = r.Clone(r.Context()) // the headers too: the caller's stay as they were
			for name := range r.Header {
				if isBaggageHeader(name) {
					r.Header.Del(name)
				}
			}
		}
		TraceRequest(func(w http.ResponseWriter, r *http.Request) {
			if dropped {
				opentracing.SpanFromContext(r.Context()).LogFields(
					log.String("event", "client baggage dropped: over the limits"),
					log.Int("items", items), log.Int("bytes", size))
			}
			next(w, r)
		})(w, r)
	}
}

// baggageIn counts the baggage items in h, and the bytes of their headers.
func baggageIn(h http.Header) (items, bytes int) {
	for name, values := range h {
		if !isBaggageHeader(name) {
			continue
		}
		for _, value := range values {
			bytes += len(name) + len(value)
			items += len(strings.Split(value, ","))
		}
	}
	return items, bytes
}

// isBaggageHeader reports whether the header name carries baggage, in the
// format that the propagator reads (W3C baggage).
func isBaggageHeader(name string) bool {
	return strings.EqualFold(name, "baggage")
}
