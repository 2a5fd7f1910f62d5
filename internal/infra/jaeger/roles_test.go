package jaeger

// Step 11's lesson, end to end: Jaeger run as its roles from the step's own
// configuration (step11-jaeger-architecture/jaeger/), spans sent with
// OpenTelemetry's SDK as the step's programs send them, read back through
// query's API.

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// step11Config is the step's Jaeger configuration, from this package.
const step11Config = "../../../step11-jaeger-architecture/jaeger"

// startRoles starts the three roles from step 11's configuration, stopped
// at the end of the test.
func startRoles(t *testing.T, opts RolesOptions) *Roles {
	t.Helper()
	bin := binary(t)
	if opts.ConfigDir == "" {
		opts.ConfigDir = step11Config
	}
	start := time.Now()
	roles, err := StartRoles(t.Context(), bin, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("storage, collector and query ready in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := roles.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			for _, role := range []*Role{roles.Storage, roles.Collector, roles.Query} {
				t.Logf("%s's log ends:\n%s", role.Name, proc.LastLines(role.Log(), 15))
			}
		}
	})
	return roles
}

// sendTraces sends n traces of one span each through the collector's
// OTLP/HTTP, as the step's programs do, and returns their IDs once the
// collector has taken them all.
func sendTraces(ctx context.Context, otlpEndpoint, service string, n int) ([]string, error) {
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(otlpEndpoint+"/v1/traces"))
	if err != nil {
		return nil, err
	}
	// A syncer: each span is exported before End returns, so an error
	// here is the collector refusing it.
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(service))))
	defer provider.Shutdown(context.WithoutCancel(ctx))
	var ids []string
	for i := range n {
		_, span := provider.Tracer("roles_test").Start(ctx, fmt.Sprintf("op-%d", i))
		span.End()
		ids = append(ids, span.SpanContext().TraceID().String())
	}
	return ids, provider.ForceFlush(ctx)
}

// waitForTraces waits until query returns every trace of ids.
func waitForTraces(t *testing.T, client *Client, ids []string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	for _, id := range ids {
		if _, err := client.WaitForTrace(ctx, id, func(tr Trace) bool { return len(tr.Spans) == 1 }); err != nil {
			t.Fatalf("trace %s not read through query: %v", id, err)
		}
	}
}

// TestRolesStorageDownCollectorRetries: while storage is down the
// collector takes spans, holds them in its queue and writes them once
// storage is back (collector.yaml's retry_on_failure and queue).
func TestRolesStorageDownCollectorRetries(t *testing.T) {
	roles := startRoles(t, RolesOptions{})
	if err := roles.Storage.Stop(); err != nil {
		t.Fatal(err)
	}
	ids, err := sendTraces(t.Context(), roles.OTLPEndpoint, "roles-test", 10)
	if err != nil {
		t.Fatalf("writing with storage down: %v", err)
	}
	time.Sleep(time.Second) // the collector tries, and fails
	if err := roles.Storage.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The retry backs off up to 30 s between tries.
	waitForTraces(t, roles.Client(), ids, 45*time.Second)
}

// TestRestartMovesATakenHealthPort: while the collector is down, something
// takes its health check's port (on a busy machine, an outgoing
// connection's source port); it comes back on another one rather than
// exiting on "address already in use", and on its own OTLP port.
func TestRestartMovesATakenHealthPort(t *testing.T) {
	roles := startRoles(t, RolesOptions{})
	roles.Collector.Kill()
	u, err := url.Parse(roles.Collector.HealthURL)
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	before := roles.Collector.HealthURL
	if err := roles.Collector.Start(t.Context()); err != nil {
		t.Fatalf("the collector did not come back with its health port taken: %v", err)
	}
	if roles.Collector.HealthURL == before {
		t.Errorf("the collector's health check is still at %s, which was taken", before)
	}
	if _, err := sendTraces(t.Context(), roles.OTLPEndpoint, "restart-check", 1); err != nil {
		t.Errorf("the collector does not take spans on its OTLP port %s after the restart: %v", roles.OTLPEndpoint, err)
	}
}
