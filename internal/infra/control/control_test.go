//go:build unix

package control

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSendReachesServe: a request sent from another terminal reaches the
// running step's handler, and its answer comes back; once the step stops,
// the learner is told that none runs.
func TestSendReachesServe(t *testing.T) {
	t.Setenv("TUTORIAL_CACHE_DIR", t.TempDir())
	closeServe, err := Serve(context.Background(), func(_ context.Context, req Request) Reply {
		return Reply{OK: true, Message: req.Verb + " " + req.Part + ": done"}
	})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := Send(0, Request{Verb: "stop", Part: "cleaner"})
	if err != nil || !reply.OK || reply.Message != "stop cleaner: done" {
		t.Errorf("Send = %+v, %v; want OK and the handler's message", reply, err)
	}
	if _, err := Send(os.Getpid()+1, Request{Verb: "status"}); err == nil {
		t.Error("Send to a pid that runs no step: no error")
	}
	closeServe()
	if _, err := Send(0, Request{Verb: "status"}); !errors.Is(err, errNotRunning) {
		t.Errorf("Send with no step running: %v, want %v", err, errNotRunning)
	}
}

// TestBadRequest: a line that is not a request gets an answer that says
// so, not silence.
func TestBadRequest(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("TUTORIAL_CACHE_DIR", cache)
	closeServe, err := Serve(context.Background(), func(context.Context, Request) Reply {
		t.Error("the handler got a bad request")
		return Reply{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closeServe()
	conn, err := net.Dial("unix", filepath.Join(cache, "running", strconv.Itoa(os.Getpid())+".sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("stop cleaner\n"))
	buf := make([]byte, 256)
	n, _ := conn.Read(buf)
	if got := string(buf[:n]); !strings.Contains(got, `"ok":false`) || !strings.Contains(got, "a bad request") {
		t.Errorf("answer to a bad request: %q", got)
	}
}
