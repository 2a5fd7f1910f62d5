//go:build unix

package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain doubles as the program of TestPdeathsig: a parent that starts
// a sleep and waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv("PROC_TEST_PARENT") == "1" {
		p, err := Start("sleep", nil, exec.Command("sleep", "60"))
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		<-p.Exited()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func start(t *testing.T, out io.Writer, name string, args ...string) *Process {
	t.Helper()
	p, err := Start(name, out, exec.Command(name, args...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	return p
}

// gone reports whether pid has exited: no such process, or a zombie that
// nobody has reaped yet.
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return runtime.GOOS == "linux" // no /proc elsewhere: kill said it is there
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !gone(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still running", pid)
		}
	}
}

// readLine waits for out to hold a whole line and returns the first.
func readLine(t *testing.T, out *Buffer) string {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if line, _, ok := strings.Cut(out.String(), "\n"); ok {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line of output; got %q", out.String())
		}
	}
}

func TestStartStop(t *testing.T) {
	p := start(t, nil, "sleep", "60")
	if p.Name() != "sleep" || p.Pid() <= 0 || !p.Running() {
		t.Fatalf("Name %q, Pid %d, Running %v", p.Name(), p.Pid(), p.Running())
	}
	if pgid, err := syscall.Getpgid(p.Pid()); err != nil || pgid != p.Pid() {
		t.Errorf("process group %d, %v; want one of its own (%d)", pgid, err, p.Pid())
	}
	if p.Err() != nil || p.ExitCode() != -1 {
		t.Errorf("while running: Err %v, ExitCode %d", p.Err(), p.ExitCode())
	}
	start := time.Now()
	err := p.Stop(5 * time.Second)
	if !Signaled(err, syscall.SIGTERM) || Signaled(err, syscall.SIGKILL) {
		t.Errorf("Stop = %v, want the exit of a process killed by SIGTERM", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %s", took)
	}
	select {
	case <-p.Exited():
	default:
		t.Error("Exited not closed after Stop")
	}
	if p.Running() || p.Err() != err || p.ExitCode() != -1 {
		t.Errorf("after Stop: Running %v, Err %v, ExitCode %d", p.Running(), p.Err(), p.ExitCode())
	}
	// Again: nothing to signal, the same exit.
	if again := p.Stop(5 * time.Second); again != err {
		t.Errorf("second Stop = %v, want %v", again, err)
	}
}

func TestOutputAndExitStatus(t *testing.T) {
	var out Buffer
	p := start(t, &out, "sh", "-c", "echo out; echo err >&2; exit 3")
	<-p.Exited()
	if got := out.String(); got != "out\nerr\n" {
		t.Errorf("output %q, want stdout and stderr", got)
	}
	var exit *exec.ExitError
	if err := p.Err(); !errors.As(err, &exit) || Signaled(err, syscall.SIGTERM) || p.ExitCode() != 3 {
		t.Errorf("Err %v, ExitCode %d; want exit status 3", err, p.ExitCode())
	}
	if err := p.Stop(time.Second); p.ExitCode() != 3 || err != p.Err() {
		t.Errorf("Stop of an exited process = %v, want its exit", err)
	}

	ok := start(t, nil, "true")
	<-ok.Exited()
	if ok.Err() != nil || ok.ExitCode() != 0 || Signaled(ok.Err(), syscall.SIGTERM) {
		t.Errorf("true: Err %v, ExitCode %d", ok.Err(), ok.ExitCode())
	}
}

func TestStartFails(t *testing.T) {
	_, err := Start("nothing", nil, exec.Command(filepath.Join(t.TempDir(), "nothing")))
	if err == nil || !strings.HasPrefix(err.Error(), "starting nothing: ") {
		t.Errorf("Start of a missing binary = %v", err)
	}
}

func TestStopKillsTheGroup(t *testing.T) {
	// The shell's child is in its group, and must go with it.
	var out Buffer
	p := start(t, &out, "sh", "-c", "sleep 60 & echo $!; wait")
	child, err := strconv.Atoi(readLine(t, &out))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(5 * time.Second); !Signaled(err, syscall.SIGTERM) {
		t.Errorf("Stop = %v", err)
	}
	waitGone(t, child)
}

func TestStopKillsAfterTimeout(t *testing.T) {
	// A shell that ignores SIGTERM, and so do its children.
	var out Buffer
	p := start(t, &out, "sh", "-c", `trap "" TERM; sleep 60 & echo $!; while :; do sleep 0.05; done`)
	child, err := strconv.Atoi(readLine(t, &out))
	if err != nil {
		t.Fatal(err)
	}
	timeout := 300 * time.Millisecond
	start := time.Now()
	if err := p.Stop(timeout); !errors.Is(err, ErrStopTimeout) {
		t.Errorf("Stop = %v, want ErrStopTimeout", err)
	}
	if took := time.Since(start); took < timeout || took > timeout+2*time.Second {
		t.Errorf("Stop took %s", took)
	}
	if p.Running() || !Signaled(p.Err(), syscall.SIGKILL) {
		t.Errorf("after Stop: Running %v, Err %v; want killed", p.Running(), p.Err())
	}
	waitGone(t, child)
}

func TestKill(t *testing.T) {
	var out Buffer
	p := start(t, &out, "sh", "-c", `trap "" TERM; sleep 60 & echo $!; wait`)
	child, err := strconv.Atoi(readLine(t, &out))
	if err != nil {
		t.Fatal(err)
	}
	p.Kill()
	if p.Running() || !Signaled(p.Err(), syscall.SIGKILL) {
		t.Errorf("after Kill: Running %v, Err %v", p.Running(), p.Err())
	}
	waitGone(t, child)
	p.Kill() // again: nothing to do
}

func TestSignal(t *testing.T) {
	p := start(t, nil, "sleep", "60")
	p.Signal(syscall.SIGINT)
	<-p.Exited()
	if !Signaled(p.Err(), syscall.SIGINT) {
		t.Errorf("Err = %v, want killed by SIGINT", p.Err())
	}
}

func TestSignaled(t *testing.T) {
	for _, err := range []error{nil, errors.New("signal: terminated"), ErrStopTimeout} {
		if Signaled(err, syscall.SIGTERM) {
			t.Errorf("Signaled(%v) = true", err)
		}
	}
}

func TestSetKillAll(t *testing.T) {
	var s Set
	a, b, done := start(t, nil, "sleep", "60"), start(t, nil, "sleep", "60"), start(t, nil, "true")
	for _, p := range []*Process{a, b, done} {
		s.Add(p)
	}
	<-done.Exited()
	s.KillAll()
	for _, p := range []*Process{a, b} {
		if p.Running() || !Signaled(p.Err(), syscall.SIGKILL) {
			t.Errorf("after KillAll: Running %v, Err %v", p.Running(), p.Err())
		}
	}
	if done.Err() != nil {
		t.Errorf("KillAll touched a process that had exited: %v", done.Err())
	}
	// The set forgets a process once it has exited.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s.mu.Lock()
		n := len(s.m)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes left in the set", n)
		}
	}
	s.KillAll() // empty: nothing to do
}

// A program started by one that dies unexpectedly dies with it (Linux).
func TestPdeathsig(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux's")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	parent := exec.Command(exe, "-test.run=^$")
	parent.Env = append(os.Environ(), "PROC_TEST_PARENT=1")
	stdout, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Wait()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	child, convErr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || convErr != nil {
		parent.Process.Kill()
		t.Fatalf("parent said %q: %v, %v", line, err, convErr)
	}
	parent.Process.Kill() // no chance to stop its sleep
	waitGone(t, child)
}

func TestBuffer(t *testing.T) {
	var b Buffer
	done := make(chan bool)
	go func() {
		for range 100 {
			fmt.Fprint(&b, "x")
		}
		done <- true
	}()
	for range 100 {
		_, _ = b.String(), b.Len() // the race detector checks these
	}
	<-done
	if got := b.String(); got != strings.Repeat("x", 100) || b.Len() != 100 {
		t.Errorf("Buffer = %q, Len %d", got, b.Len())
	}
}

func TestTail(t *testing.T) {
	tail := NewTail(8)
	fmt.Fprint(tail, "0123")
	fmt.Fprint(tail, "456789abc")
	if got := tail.String(); got != "56789abc" {
		t.Errorf("Tail = %q, want the last 8 bytes", got)
	}
}

func TestLastLines(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"a\nb\nc\nd\n", 2, "c\nd"},
		{"a\nb", 5, "a\nb"},
		{"a\n\nb\n\n", 2, "\nb"},
	} {
		if got := LastLines(tc.s, tc.n); got != tc.want {
			t.Errorf("LastLines(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}
