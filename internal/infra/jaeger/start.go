package jaeger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// Options choose the ports the tutorial's programs talk to. 0 means any
// free port on 127.0.0.1, which is what tests want.
type Options struct {
	QueryPort     int // UI and query API (Jaeger's default 16686)
	CollectorPort int // jaeger.thrift over HTTP, where JAEGER_ENDPOINT points (14268)
	AgentPort     int // jaeger.thrift compact over UDP, the "agent" (6831)
	// LogFile receives Jaeger's log as it is written. The last part of it
	// is also kept for errors and Instance.Log.
	LogFile io.Writer
	// Env is Jaeger's whole environment; nil passes on this program's.
	Env []string
	// OwnUI keeps the Jaeger's own web UI, which a release has, in place
	// of the tutorial's trace viewer (see Found).
	OwnUI bool
	// Docker runs Image through Docker; the binary is the docker command.
	// Its ports are published on 127.0.0.1 only.
	Docker bool
}

// Instance is a running Jaeger.
type Instance struct {
	QueryURL          string // http://127.0.0.1:P
	CollectorEndpoint string // http://127.0.0.1:P/api/traces, a JAEGER_ENDPOINT
	AgentHostPort     string // 127.0.0.1:P, JAEGER_AGENT_HOST and JAEGER_AGENT_PORT
	HealthURL         string // healthcheckv2's status page: 200 when every component is up
	// OTLPEndpoint receives OpenTelemetry's OTLP over HTTP (Jaeger's 4318):
	// an OTEL_EXPORTER_OTLP_ENDPOINT, whose /v1/traces takes the spans.
	OTLPEndpoint string // http://127.0.0.1:P

	process *proc.Process
	dir     string // holds the generated configuration
	log     *proc.Tail

	stopOnce sync.Once
	stopErr  error
}

const (
	readyTimeout = 30 * time.Second
	pollInterval = 50 * time.Millisecond
	stopTimeout  = 5 * time.Second
	logTailBytes = 64 << 10
)

// Start runs the Jaeger binary with memory storage on loopback ports and
// returns once it is ready to receive spans and answer queries. ctx bounds
// the start only: the process runs until Stop.
func Start(ctx context.Context, binary string, opts Options) (*Instance, error) {
	for attempt := 1; ; attempt++ {
		inst, err := start(ctx, binary, opts)
		// A port picked as free can be taken by another process before
		// Jaeger binds it; fresh ports fix that.
		if err != nil && attempt < 3 && pickedPortTaken(err, opts) {
			continue
		}
		return inst, err
	}
}

// pickedPortTaken reports whether err (with Jaeger's log) says a port was
// in use, and not one that opts chose.
func pickedPortTaken(err error, opts Options) bool {
	msg := err.Error()
	if !strings.Contains(msg, "address already in use") {
		return false
	}
	for _, port := range []int{opts.QueryPort, opts.CollectorPort, opts.AgentPort} {
		if port != 0 && strings.Contains(msg, ":"+strconv.Itoa(port)+": bind:") {
			return false
		}
	}
	return true
}

func start(ctx context.Context, binary string, opts Options) (*Instance, error) {
	p, err := pickPorts(opts)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "jaeger-")
	if err != nil {
		return nil, err
	}
	uiDir := ""
	if !opts.OwnUI {
		uiDir = filepath.Join(dir, "ui")
		if err := writeUI(uiDir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	host := "127.0.0.1"
	if opts.Docker {
		host = "0.0.0.0" // in the container; published on 127.0.0.1 only
	}
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, []byte(p.config(host, uiDir)), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}

	inst := &Instance{
		QueryURL:          "http://127.0.0.1:" + strconv.Itoa(p.Query),
		CollectorEndpoint: "http://127.0.0.1:" + strconv.Itoa(p.ThriftHTTP) + "/api/traces",
		AgentHostPort:     "127.0.0.1:" + strconv.Itoa(p.ThriftCompact),
		OTLPEndpoint:      "http://127.0.0.1:" + strconv.Itoa(p.OTLPHTTP),
		HealthURL:         "http://127.0.0.1:" + strconv.Itoa(p.Health) + "/status",
		dir:               dir,
		log:               proc.NewTail(logTailBytes),
	}
	var logw io.Writer = inst.log
	if opts.LogFile != nil {
		logw = io.MultiWriter(inst.log, opts.LogFile)
	}
	// In a process group of its own, Jaeger is out of reach of a Ctrl-C
	// in the terminal until the program that started it stops it in
	// order, and (on Linux) dies with that program.
	cmd := exec.Command(binary, "--config", "file:"+configPath)
	if opts.Docker {
		cmd = exec.Command(binary, p.dockerRun(dir, configPath)...)
	}
	cmd.Env = opts.Env
	inst.process, err = proc.Start("Jaeger", logw, cmd)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}

	if err := inst.waitReady(ctx); err != nil {
		inst.Stop()
		return nil, fmt.Errorf("%w\nJaeger's log ends:\n%s", err, proc.LastLines(inst.Log(), 30))
	}
	return inst, nil
}

// waitReady polls until Jaeger's health check passes and its query API
// answers: the health check alone turns green before the query server
// serves.
func (i *Instance) waitReady(ctx context.Context) error {
	return waitReady(ctx, "Jaeger", i.process, i.HealthURL, i.QueryURL+"/api/services")
}

// waitReady polls until a GET of each of urls, in order, answers 200 OK,
// or the process exits, or readyTimeout passes. name stands for the
// process in errors.
func waitReady(ctx context.Context, name string, process *proc.Process, urls ...string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		var last error
		for _, url := range urls {
			if last = ok(ctx, client, url); last != nil {
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-process.Exited():
			return fmt.Errorf("%s exited while starting: %v", name, process.Err())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s: %w (%v)", name, readyTimeout, last, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// ok returns nil if a GET of url answers 200 OK.
func ok(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// Client returns a client of this Jaeger's query API.
func (i *Instance) Client() *Client {
	return &Client{QueryURL: i.QueryURL}
}

// Process returns Jaeger's process, for a runner that lets the learner
// kill or pause it (SIGKILL, SIGSTOP): Stop is the way to stop it in order.
func (i *Instance) Process() *proc.Process {
	return i.process
}

// Log returns the last part of Jaeger's log (up to 64 KiB).
func (i *Instance) Log() string {
	return i.log.String()
}

// Stop stops Jaeger: SIGTERM, then SIGKILL if it has not exited after 5
// seconds. It signals the whole process group, so nothing Jaeger started
// survives it. Calling it again returns the first call's result.
func (i *Instance) Stop() error {
	i.stopOnce.Do(func() {
		defer os.RemoveAll(i.dir)
		if !i.process.Running() {
			if err := i.process.Err(); err != nil {
				i.stopErr = fmt.Errorf("Jaeger had already exited: %w", err)
			}
			return
		}
		switch err := i.process.Stop(stopTimeout); {
		case errors.Is(err, proc.ErrStopTimeout):
			i.stopErr = fmt.Errorf("Jaeger did not exit within %s of SIGTERM; killed it", stopTimeout)
		case err != nil && !proc.Signaled(err, syscall.SIGTERM):
			i.stopErr = fmt.Errorf("Jaeger exited with %w", err)
		}
	})
	return i.stopErr
}

// dockerRun is the docker command's arguments that run Image with the
// configuration at configPath (in dir, mounted at the same path), every
// port published on 127.0.0.1 only. docker run passes SIGTERM on to
// Jaeger, and --rm removes the container when Jaeger exits.
func (p ports) dockerRun(dir, configPath string) []string {
	args := []string{"run", "--rm", "-v", dir + ":" + dir + ":ro"}
	for _, port := range []int{p.Query, p.QueryGRPC, p.SamplingHTTP, p.SamplingGRPC, p.Health, p.HealthGRPC,
		p.Expvar, p.ZPages, p.Metrics, p.OTLPGRPC, p.OTLPHTTP, p.JaegerGRPC, p.ThriftHTTP, p.Zipkin} {
		args = append(args, "-p", fmt.Sprintf("127.0.0.1:%d:%d", port, port))
	}
	for _, port := range []int{p.ThriftCompact, p.ThriftBinary} {
		args = append(args, "-p", fmt.Sprintf("127.0.0.1:%d:%d/udp", port, port))
	}
	return append(args, Image, "--config", "file:"+configPath)
}
