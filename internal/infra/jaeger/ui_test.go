package jaeger

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigServesTheViewer(t *testing.T) {
	p, err := pickPorts(Options{})
	if err != nil {
		t.Fatal(err)
	}
	config := p.config("127.0.0.1", "/tmp/jaeger-1/ui")
	if !strings.Contains(config, "    ui:\n      assets_path: \"/tmp/jaeger-1/ui\"\n") {
		t.Errorf("config does not serve the viewer from /tmp/jaeger-1/ui:\n%s", config)
	}
}

// A release of Jaeger keeps its own web UI.
func TestConfigKeepsJaegersOwnUI(t *testing.T) {
	p, err := pickPorts(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if config := p.config("127.0.0.1", ""); strings.Contains(config, "assets_path") || strings.Contains(config, "<no value>") {
		t.Errorf("config without a viewer's directory:\n%s", config)
	}
}

func TestWriteUI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ui")
	if err := writeUI(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.html", "static/viewer.js", "static/viewer.css"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the viewer lacks %s: %v", name, err)
		}
	}
}

// TestViewerServed: Jaeger serves the viewer's page at / and at the links
// the programs log (/trace/<id>), and its script and style under /static/.
// (internal/tests/viewer checks what the page shows, in a browser.)
func TestViewerServed(t *testing.T) {
	inst, err := Start(t.Context(), binary(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Stop()
	get := func(path string) (string, string) {
		resp, err := http.Get(inst.QueryURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", path, resp.Status)
		}
		return string(body), resp.Header.Get("Content-Type")
	}
	for _, path := range []string{"/", "/search", "/trace/4bf92f3577b34da6a3ce929d0e0e4736"} {
		if body, _ := get(path); !strings.Contains(body, "the tracing tutorial's own viewer") {
			t.Errorf("GET %s is not the viewer's page:\n%.300s", path, body)
		}
	}
	if body, typ := get("/static/viewer.js"); !strings.Contains(body, "function layout(") || !strings.HasPrefix(typ, "text/javascript") {
		t.Errorf("GET /static/viewer.js: %s, %.100q", typ, body)
	}
	if _, typ := get("/static/viewer.css"); !strings.HasPrefix(typ, "text/css") {
		t.Errorf("GET /static/viewer.css: %s", typ)
	}
}
