// Command buildjaeger builds the Jaeger that the tutorial runs (from the Go
// module proxy, at the version pinned in tools/go.mod) unless it is already
// cached, and prints its path. `make test` and `make run` call it first, so
// the one slow build (4 to 5 minutes on 2 cores) shows its progress
// instead of hiding inside a test.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/tracing-tutorial/tutorial/internal/infra/jaeger"
)

func main() {
	path, err := jaeger.Binary(context.Background(), os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildjaeger:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
