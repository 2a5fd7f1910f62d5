package traceview

import (
	"os"
	"path/filepath"
	"testing"
)

func TestUseColor(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	tests := []struct {
		mode, noColor string
		want          bool
	}{
		{"always", "1", true}, // the flag is the user's explicit choice
		{"never", "", false},
		{"auto", "", false}, // a file is not a terminal
		{"auto", "1", false},
	}
	for _, tt := range tests {
		t.Setenv("NO_COLOR", tt.noColor)
		got, err := UseColor(tt.mode, file)
		if err != nil || got != tt.want {
			t.Errorf("UseColor(%q) with NO_COLOR=%q = %v, %v; want %v", tt.mode, tt.noColor, got, err, tt.want)
		}
	}
	if _, err := UseColor("yes", file); err == nil {
		t.Error("UseColor accepts yes")
	}
}

func TestTerminalWidth(t *testing.T) {
	tests := []struct {
		columns string
		want    int
	}{
		{"", DefaultWidth},
		{"132", 132},
		{"wide", DefaultWidth},
		{"0", DefaultWidth},
	}
	stdout := os.Stdout
	defer func() { os.Stdout = stdout }()
	os.Stdout, _ = os.Open(os.DevNull) // not a terminal
	for _, tt := range tests {
		t.Setenv("COLUMNS", tt.columns)
		if got := TerminalWidth(os.Stdout); got != tt.want {
			t.Errorf("COLUMNS=%q: TerminalWidth() = %d, want %d", tt.columns, got, tt.want)
		}
	}
}
