package jaeger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	freeport "github.com/tracing-tutorial/tutorial/internal/infra/ports"
	"github.com/tracing-tutorial/tutorial/internal/infra/proc"
)

// Roles is Jaeger run as its roles, each its own process, from a step's
// configuration (step 11's jaeger/): storage (Badger on disk, served over
// gRPC), the collector (OTLP in, written to storage) and query (reads
// storage, serves the API and the UI).
type Roles struct {
	Storage, Collector, Query *Role

	// OTLPEndpoint is the collector's OTLP over HTTP: an
	// OTEL_EXPORTER_OTLP_ENDPOINT (http://127.0.0.1:P).
	OTLPEndpoint string
	// OTLPGRPCAddr is the collector's OTLP over gRPC (127.0.0.1:P).
	OTLPGRPCAddr string
	// QueryURL is query's UI and HTTP API (http://127.0.0.1:P).
	QueryURL string
	// StorageAddr is storage's gRPC API (127.0.0.1:P).
	StorageAddr string
	// SamplingURL is where a collector with the remote_sampling extension
	// (step 12 on) serves sampling strategies to Jaeger's remote sampler
	// (http://127.0.0.1:P/sampling); nothing answers there before step 12.
	SamplingURL string
	// BadgerDir is where storage keeps the traces.
	BadgerDir string

	dir string // the viewer's files, and BadgerDir unless the caller chose it
}

// RolesOptions say where the roles' configuration is and where storage
// keeps its traces.
type RolesOptions struct {
	// ConfigDir holds storage.yaml, collector.yaml and query.yaml (and
	// from step 12 strategies.json, the collector's sampling strategies).
	ConfigDir string
	// QueryPort is query's UI and API (Jaeger's 16686); 0 is any free port.
	QueryPort int
	// BadgerDir is storage's directory, kept after Stop; "" is a new
	// temporary one that Stop removes.
	BadgerDir string
	// LogFile receives the three roles' logs as they are written.
	LogFile io.Writer
	// Env is the roles' environment before their ports; nil passes on
	// this program's.
	Env []string
}

// Role is one of Jaeger's roles: a process that can be stopped, killed and
// started again on the same ports, as a learner breaks it on purpose.
type Role struct {
	Name      string // "storage", "collector", "query"
	HealthURL string // healthcheckv2's status: 200 when the role is up

	binary, config string
	env            []string
	ready          []string // what must answer 200 before the role is ready
	logw           io.Writer
	log            *proc.Tail

	mu      sync.Mutex
	process *proc.Process
}

// roleEnv names the variables the configs read their ports from.
var roleEnv = []string{
	"STORAGE_GRPC_PORT", "STORAGE_HEALTH_PORT", "STORAGE_METRICS_PORT",
	"OTLP_GRPC_PORT", "OTLP_HTTP_PORT", "COLLECTOR_HEALTH_PORT", "COLLECTOR_METRICS_PORT",
	"QUERY_HTTP_PORT", "QUERY_GRPC_PORT", "QUERY_HEALTH_PORT", "QUERY_METRICS_PORT",
	"SAMPLING_HTTP_PORT", "SAMPLING_GRPC_PORT",
}

// StartRoles starts storage, then the collector and query, each once the
// one before is healthy, on free loopback ports. It returns once all three
// are ready; ctx bounds the start only.
func StartRoles(ctx context.Context, binary string, opts RolesOptions) (*Roles, error) {
	ports, err := freeport.FreeN(len(roleEnv))
	if err != nil {
		return nil, err
	}
	port := map[string]string{}
	for i, name := range roleEnv {
		port[name] = strconv.Itoa(ports[i])
	}
	if opts.QueryPort != 0 {
		port["QUERY_HTTP_PORT"] = strconv.Itoa(opts.QueryPort)
	}
	dir, uiDir, err := tempDirWithUI("jaeger-roles-")
	if err != nil {
		return nil, err
	}
	r := &Roles{
		OTLPEndpoint: "http://127.0.0.1:" + port["OTLP_HTTP_PORT"],
		OTLPGRPCAddr: "127.0.0.1:" + port["OTLP_GRPC_PORT"],
		QueryURL:     "http://127.0.0.1:" + port["QUERY_HTTP_PORT"],
		StorageAddr:  "127.0.0.1:" + port["STORAGE_GRPC_PORT"],
		SamplingURL:  "http://127.0.0.1:" + port["SAMPLING_HTTP_PORT"] + "/sampling",
		BadgerDir:    opts.BadgerDir,
		dir:          dir,
	}
	if r.BadgerDir == "" {
		r.BadgerDir = filepath.Join(dir, "badger")
	}

	strategies, err := filepath.Abs(filepath.Join(opts.ConfigDir, "strategies.json"))
	if err != nil {
		return nil, err
	}
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	env = append(env[:len(env):len(env)],
		"LISTEN_HOST=127.0.0.1",
		"BADGER_DIR="+r.BadgerDir,
		"STORAGE_ENDPOINT="+r.StorageAddr,
		"QUERY_UI_DIR="+uiDir,
		"SAMPLING_STRATEGIES="+strategies,
		// remote_storage traces its own gRPC calls, and would send those
		// spans to localhost:4317, maybe another Jaeger. Off.
		"OTEL_TRACES_SAMPLER=always_off",
	)
	for _, name := range roleEnv {
		env = append(env, name+"="+port[name])
	}
	role := func(name, healthPort string, ready ...string) *Role {
		health := "http://127.0.0.1:" + port[healthPort] + "/status"
		logw := io.Writer(proc.NewTail(logTailBytes))
		tail := logw.(*proc.Tail)
		if opts.LogFile != nil {
			logw = io.MultiWriter(tail, opts.LogFile)
		}
		return &Role{
			Name: name, HealthURL: health,
			binary: binary, config: filepath.Join(opts.ConfigDir, name+".yaml"), env: env,
			ready: append([]string{health}, ready...), logw: logw, log: tail,
		}
	}
	r.Storage = role("storage", "STORAGE_HEALTH_PORT")
	r.Collector = role("collector", "COLLECTOR_HEALTH_PORT")
	// Query's health check turns green before its HTTP server serves.
	r.Query = role("query", "QUERY_HEALTH_PORT", r.QueryURL+"/api/services")

	for _, role := range []*Role{r.Storage, r.Collector, r.Query} {
		if err := role.Start(ctx); err != nil {
			r.Stop()
			return nil, err
		}
	}
	return r, nil
}

// Client returns a client of query's API.
func (r *Roles) Client() *Client { return &Client{QueryURL: r.QueryURL} }

// Stop stops the three roles, the collector first so that it can write
// what it holds, and removes the temporary files (the traces too, unless
// the caller chose their directory).
func (r *Roles) Stop() error {
	var errs []error
	for _, role := range []*Role{r.Collector, r.Query, r.Storage} {
		if role != nil {
			errs = append(errs, role.Stop())
		}
	}
	errs = append(errs, os.RemoveAll(r.dir))
	return errors.Join(errs...)
}

// Start starts the role (again, on the same ports) and returns once it is
// ready. Its traces are wherever the configuration keeps them.
func (r *Role) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.process != nil && r.process.Running() {
		return fmt.Errorf("Jaeger's %s is already running", r.Name)
	}
	if err := r.moveTakenPorts(); err != nil {
		return err
	}
	cmd := exec.Command(r.binary, "--config", "file:"+r.config)
	cmd.Env = r.env
	name := "Jaeger's " + r.Name
	fmt.Fprintf(r.logw, "--- starting %s\n", name)
	process, err := proc.Start(name, r.logw, cmd)
	if err != nil {
		return err
	}
	r.process = process
	if err := waitReady(ctx, name, process, r.ready...); err != nil {
		process.Kill()
		return fmt.Errorf("%w\nits log ends:\n%s", err, proc.LastLines(r.Log(), 30))
	}
	return nil
}

// ownPorts are the ports of each role that no other part needs to know:
// its health check and its metrics.
var ownPorts = map[string][]string{
	"storage":   {"STORAGE_HEALTH_PORT", "STORAGE_METRICS_PORT"},
	"collector": {"COLLECTOR_HEALTH_PORT", "COLLECTOR_METRICS_PORT"},
	"query":     {"QUERY_HEALTH_PORT", "QUERY_METRICS_PORT"},
}

// moveTakenPorts gives the role new ports of its own (ownPorts) for those
// that something took while it was down: on a busy machine, an outgoing
// connection's source port can be one that the role had, and the role
// would exit on "address already in use". The ports that others send to
// (OTLP, storage's gRPC, query's API) stay where they are.
func (r *Role) moveTakenPorts() error {
	for _, key := range ownPorts[r.Name] {
		for i, kv := range r.env {
			old, ok := strings.CutPrefix(kv, key+"=")
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(old); err != nil || freeport.InUse(n, false) == nil {
				continue // free: it keeps it
			}
			port, err := freeport.Free()
			if err != nil {
				return err
			}
			env := slices.Clone(r.env) // the roles started with one slice
			env[i] = key + "=" + strconv.Itoa(port)
			r.env = env
			if strings.HasSuffix(key, "_HEALTH_PORT") {
				health := "http://127.0.0.1:" + strconv.Itoa(port) + "/status"
				r.ready = slices.Clone(r.ready)
				r.ready[slices.Index(r.ready, r.HealthURL)] = health
				r.HealthURL = health
			}
		}
	}
	return nil
}

// Stop stops the role in order: SIGTERM, then SIGKILL after 5 seconds. A
// role already stopped is no error.
func (r *Role) Stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.process == nil || !r.process.Running() {
		return nil
	}
	switch err := r.process.Stop(stopTimeout); {
	case errors.Is(err, proc.ErrStopTimeout):
		return fmt.Errorf("Jaeger's %s did not exit within %s of SIGTERM; killed it", r.Name, stopTimeout)
	case err != nil && !proc.Signaled(err, syscall.SIGTERM):
		return fmt.Errorf("Jaeger's %s exited with %w", r.Name, err)
	}
	return nil
}

// Kill kills the role at once (SIGKILL), as a crash would, and waits for it
// to be gone.
func (r *Role) Kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.process != nil && r.process.Running() {
		r.process.Kill()
	}
}

// Restart stops the role in order and starts it again.
func (r *Role) Restart(ctx context.Context) error {
	if err := r.Stop(); err != nil {
		return err
	}
	return r.Start(ctx)
}

// Process returns the role's process while it runs (nil before it
// starts), for a runner that lets the learner kill or pause it.
func (r *Role) Process() *proc.Process {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.process
}

// Log returns the last part of the role's log (up to 64 KiB), across its
// restarts.
func (r *Role) Log() string { return r.log.String() }
