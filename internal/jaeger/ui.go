package jaeger

import (
	"embed"
	"io/fs"
	"os"
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
