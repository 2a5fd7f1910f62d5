//go:build !windows

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// The terminal that the runner and the step's programs share.

// console is the terminal the runner and its programs share. Writes are
// whole lines, so that the programs' logs and the runner's messages never
// cut into each other.
type console struct {
	mu  sync.Mutex
	out io.Writer
}

func newConsole(out *os.File) *console { return &console{out: out} }

// Printf writes a message of the runner's.
func (c *console) Printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.out, format, args...)
}

// Write writes p at once: a trace, for one.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

// prefixed returns a writer that prefixes every line written to it, as
// "gateway      | ", and passes only whole lines on.
func (c *console) prefixed(prefix string) io.Writer {
	return &prefixWriter{console: c, prefix: prefix}
}

type prefixWriter struct {
	console *console
	prefix  string
	partial []byte // an unfinished last line
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	last := bytes.LastIndexByte(w.partial, '\n')
	if last < 0 {
		return len(p), nil
	}
	var b strings.Builder
	for line := range strings.Lines(string(w.partial[:last+1])) {
		b.WriteString(w.prefix)
		b.WriteString(line)
	}
	w.partial = append(w.partial[:0], w.partial[last+1:]...)
	_, err := io.WriteString(w.console, b.String())
	return len(p), err
}
