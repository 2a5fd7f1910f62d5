package jaeger

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
)

// uiFiles is the tutorial's own trace viewer (ui/): a Jaeger built from the
// module proxy has Jaeger's API but no web UI, only a placeholder page.
// Jaeger serves a directory in place of its UI (jaeger_query's
// ui.assets_path): index.html at / and at every path it does not know
// (/search, /trace/<id>, the links the programs log), the rest under
// /static/.
//
//go:embed ui
var uiFiles embed.FS

// writeUI writes the viewer into dir, which must not exist yet.
func writeUI(dir string) error {
	files, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		return err
	}
	return os.CopyFS(dir, files)
}

// tempDirWithUI makes a new temporary directory (its name starts with
// prefix) holding the viewer in ui/, for a Jaeger to serve.
func tempDirWithUI(prefix string) (dir, uiDir string, err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", "", err
	}
	uiDir = filepath.Join(dir, "ui")
	if err := writeUI(uiDir); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	return dir, uiDir, nil
}
