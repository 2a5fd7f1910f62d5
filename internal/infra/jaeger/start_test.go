package jaeger

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// binary returns the cached Jaeger, building it (once per machine) if
// needed.
func binary(t *testing.T) string {
	t.Helper()
	path, err := Binary(t.Context(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTwoInstancesSideBySide(t *testing.T) {
	bin := binary(t)

	var log bytes.Buffer
	start := time.Now()
	a, err := Start(t.Context(), bin, Options{LogFile: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first Jaeger ready in %s", time.Since(start).Round(time.Millisecond))
	defer a.Stop()
	start = time.Now()
	b, err := Start(t.Context(), bin, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second Jaeger ready in %s", time.Since(start).Round(time.Millisecond))
	defer b.Stop()

	for _, inst := range []*Instance{a, b} {
		for _, url := range []string{inst.HealthURL, inst.QueryURL + "/api/services"} {
			if err := ok(t.Context(), http.DefaultClient, url); err != nil {
				t.Error(err)
			}
		}
		// OTLP over HTTP: an export with no spans is accepted.
		resp, err := http.Post(inst.OTLPEndpoint+"/v1/traces", "application/json", strings.NewReader(`{"resourceSpans":[]}`))
		if err != nil {
			t.Error(err)
		} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
			t.Errorf("POST %s/v1/traces: %s", inst.OTLPEndpoint, resp.Status)
		}
		for _, addr := range []string{inst.QueryURL, inst.CollectorEndpoint, "http://" + inst.AgentHostPort, inst.OTLPEndpoint} {
			if !strings.HasPrefix(addr, "http://127.0.0.1:") {
				t.Errorf("%s is not on 127.0.0.1", addr)
			}
		}
		if _, err := inst.Client().Latest(t.Context(), "nobody"); err == nil {
			t.Error("Latest of an unknown service: no error")
		}
	}
	if a.QueryURL == b.QueryURL || a.CollectorEndpoint == b.CollectorEndpoint || a.AgentHostPort == b.AgentHostPort || a.OTLPEndpoint == b.OTLPEndpoint {
		t.Errorf("instances share ports: %+v and %+v", a, b)
	}

	for _, inst := range []*Instance{a, b} {
		start := time.Now()
		if err := inst.Stop(); err != nil {
			t.Error(err)
		}
		t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
		if err := inst.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		// Its ports are free again.
		for _, hostPort := range []string{strings.TrimPrefix(inst.QueryURL, "http://"), strings.TrimPrefix(strings.TrimSuffix(inst.CollectorEndpoint, "/api/traces"), "http://")} {
			l, err := net.Listen("tcp", hostPort)
			if err != nil {
				t.Errorf("after Stop: %v", err)
				continue
			}
			l.Close()
		}
		c, err := net.ListenPacket("udp", inst.AgentHostPort)
		if err != nil {
			t.Errorf("after Stop: %v", err)
			continue
		}
		c.Close()
	}
	// Read only now: Jaeger writes to LogFile until it has exited.
	if !strings.Contains(log.String(), "Everything is ready") {
		t.Errorf("LogFile did not receive Jaeger's log:\n%s", log.String())
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	bin := binary(t)
	// Occupy the query port so that Jaeger cannot start.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	inst, err := Start(ctx, bin, Options{QueryPort: l.Addr().(*net.TCPAddr).Port})
	if err == nil {
		inst.Stop()
		t.Fatal("Jaeger started on a port in use")
	}
	if !strings.Contains(err.Error(), "Jaeger's log ends") || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("error does not show Jaeger's log:\n%v", err)
	}
}

func TestPickedPortTaken(t *testing.T) {
	taken := errors.New("Jaeger exited while starting\nlisten tcp 127.0.0.1:4242: bind: address already in use")
	if !pickedPortTaken(taken, Options{}) {
		t.Error("a picked port was taken: want a retry")
	}
	if pickedPortTaken(taken, Options{QueryPort: 4242}) {
		t.Error("the chosen query port was taken: retrying cannot help")
	}
	if pickedPortTaken(errors.New("Jaeger not ready"), Options{}) {
		t.Error("retry on an error that is not about ports")
	}
}
