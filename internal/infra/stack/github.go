package stack

import (
	"net"
	"net/http"
	"time"

	"github.com/tracing-tutorial/tutorial/internal/infra/fakegithub"
	"github.com/tracing-tutorial/tutorial/internal/infra/ports"
)

// GitHub is the stand-in GitHub, served from this process.
type GitHub struct {
	*fakegithub.Server        // records the requests it had
	URL                string // with the trailing slash GITHUB_API_URL takes
	Addr               string // host:port
	server             *http.Server
}

// StartGitHub serves the stand-in on port (0: a free one).
func StartGitHub(port int, opts fakegithub.Options) (*GitHub, error) {
	l, err := net.Listen("tcp", ports.Addr(port))
	if err != nil {
		return nil, err
	}
	opts.Record = true
	g := &GitHub{Server: fakegithub.New(opts), Addr: l.Addr().String()}
	g.URL = "http://" + g.Addr + "/"
	g.server = &http.Server{Handler: g.Server, ReadHeaderTimeout: 5 * time.Second}
	go g.server.Serve(l)
	return g, nil
}

// Close stops it at once: Close, not Shutdown, as a request to a "slow/"
// owner must not hold up a stop.
func (g *GitHub) Close() error { return g.server.Close() }
