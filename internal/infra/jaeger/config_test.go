package jaeger

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	freeport "github.com/tracing-tutorial/tutorial/internal/infra/ports"
)

func TestConfigBindsLoopbackOnly(t *testing.T) {
	p, err := pickPorts(Options{QueryPort: 16686})
	if err != nil {
		t.Fatal(err)
	}
	config := p.config("127.0.0.1", "/tmp/ui")

	endpoints := regexp.MustCompile(`(?m)^\s*endpoint:(.*)$`).FindAllStringSubmatch(config, -1)
	for _, m := range endpoints {
		value := strings.TrimSpace(m[1])
		host, port, _ := strings.Cut(value, ":")
		if n, err := strconv.Atoi(port); host != "127.0.0.1" || err != nil || n <= 0 {
			t.Errorf("endpoint %q, want 127.0.0.1:<port>", value)
		}
	}
	// Every listener but Prometheus's, which has host and port.
	if len(endpoints) != 15 {
		t.Errorf("%d endpoints, want 15:\n%s", len(endpoints), config)
	}
	if want := "host: 127.0.0.1\n                port: " + strconv.Itoa(p.Metrics) + "\n"; !strings.Contains(config, want) {
		t.Errorf("Prometheus not on 127.0.0.1:%d:\n%s", p.Metrics, config)
	}
	if !strings.Contains(config, "endpoint: 127.0.0.1:16686\n") {
		t.Errorf("QueryPort 16686 not used:\n%s", config)
	}
	if strings.Contains(config, "<no value>") {
		t.Errorf("unrendered template:\n%s", config)
	}

	tcp := []int{p.Query, p.QueryGRPC, p.SamplingHTTP, p.SamplingGRPC, p.Health, p.HealthGRPC,
		p.Expvar, p.ZPages, p.Metrics, p.OTLPGRPC, p.OTLPHTTP, p.JaegerGRPC, p.ThriftHTTP, p.Zipkin}
	udp := []int{p.ThriftCompact, p.ThriftBinary}
	for _, ports := range [][]int{tcp, udp} {
		seen := map[int]bool{}
		for _, port := range ports {
			if port == 0 || seen[port] {
				t.Errorf("port %d zero or used twice: %+v", port, p)
			}
			seen[port] = true
		}
	}
}

// TestPickPortsAvoidsTheCallersPorts: the kernel may offer a port the
// caller chose, free until Jaeger binds it; picked for another endpoint
// too, Jaeger would fail to start on a port no retry could change. (It
// did, in make test: the zipkin receiver on the collector's port.)
func TestPickPortsAvoidsTheCallersPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	collector := l.Addr().(*net.TCPAddr).Port
	l.Close()
	// The kernel offers the collector's port first.
	asked, restore := freeport.Offer(collector)
	defer restore()

	p, err := pickPorts(Options{CollectorPort: collector})
	if err != nil {
		t.Fatal(err)
	}
	if asked() == 0 {
		t.Fatal("pickPorts did not ask for a free port")
	}
	for name, port := range map[string]int{"query": p.Query, "query gRPC": p.QueryGRPC, "sampling": p.SamplingHTTP,
		"sampling gRPC": p.SamplingGRPC, "health": p.Health, "health gRPC": p.HealthGRPC, "expvar": p.Expvar,
		"zpages": p.ZPages, "metrics": p.Metrics, "OTLP gRPC": p.OTLPGRPC, "OTLP HTTP": p.OTLPHTTP,
		"jaeger gRPC": p.JaegerGRPC, "zipkin": p.Zipkin} {
		if port == collector {
			t.Errorf("%s got the collector's port %d", name, collector)
		}
	}
	if p.ThriftHTTP != collector {
		t.Errorf("collector on %d, want the caller's %d", p.ThriftHTTP, collector)
	}
}

// JAEGER=docker: Jaeger listens on every interface of its container, and
// docker publishes each of its ports on 127.0.0.1 only, at the same number.
func TestDockerRunPublishesOnLoopbackOnly(t *testing.T) {
	p, err := pickPorts(Options{QueryPort: 16686})
	if err != nil {
		t.Fatal(err)
	}
	config := p.config("0.0.0.0", "")
	endpoints := regexp.MustCompile(`(?m)^\s*endpoint: 0\.0\.0\.0:(\d+)$`).FindAllStringSubmatch(config, -1)
	if len(endpoints) != 15 || strings.Contains(config, "127.0.0.1") {
		t.Errorf("in the container: %d endpoints on 0.0.0.0, want 15, and none on 127.0.0.1:\n%s", len(endpoints), config)
	}
	args := strings.Join(p.dockerRun("/tmp/jaeger-1", "/tmp/jaeger-1/config.yaml"), " ")
	published := map[string]bool{}
	for _, m := range regexp.MustCompile(`-p (\S+)`).FindAllStringSubmatch(args, -1) {
		published[m[1]] = true
		if !strings.HasPrefix(m[1], "127.0.0.1:") {
			t.Errorf("docker run publishes %s, not on 127.0.0.1", m[1])
		}
	}
	for _, m := range endpoints {
		if tcp := "127.0.0.1:" + m[1] + ":" + m[1]; !published[tcp] && !published[tcp+"/udp"] {
			t.Errorf("port %s is not published: %s", m[1], args)
		}
	}
	for _, port := range []int{p.ThriftCompact, p.ThriftBinary} {
		if udp := "127.0.0.1:" + strconv.Itoa(port) + ":" + strconv.Itoa(port) + "/udp"; !published[udp] {
			t.Errorf("UDP port %d is not published: %s", port, args)
		}
	}
	if !strings.HasSuffix(args, Image+" --config file:/tmp/jaeger-1/config.yaml") || !strings.Contains(args, "-v /tmp/jaeger-1:/tmp/jaeger-1:ro") {
		t.Errorf("docker %s: want the image with the configuration mounted", args)
	}
}
