package devproc

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LockedBuffer is a bytes.Buffer that one goroutine may write (a process's
// output) while another reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Children returns the pids of the process's direct children.
func Children(pid int) []int {
	out, _ := exec.Command("pgrep", "-P", fmt.Sprint(pid)).Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		var n int
		if _, err := fmt.Sscan(f, &n); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// Alive reports whether pid is a running process (a zombie is not).
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	// A zombie is dead for our purposes.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

// FreePort returns a TCP port free on 127.0.0.1 right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("devproc: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// PortFree reports whether nothing listens on 127.0.0.1:port.
func PortFree(port int) bool {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

// SetLocalPort rewrites every `localPort:` of dir/devloop.yaml to port.
func SetLocalPort(t testing.TB, dir string, port int) {
	t.Helper()
	Replace(t, filepath.Join(dir, "devloop.yaml"), `(?m)^(\s+localPort:\s*)\d+`, fmt.Sprintf("${1}%d", port))
}

// SetVersion writes v as the notes example's web/version.go Version.
func SetVersion(t testing.TB, dir, v string) {
	t.Helper()
	Replace(t, filepath.Join(dir, "web", "version.go"), `(?m)^const Version = ".*"`, fmt.Sprintf("const Version = %q", v))
}

// Replace applies a regexp replacement to a file and fails when nothing matched.
func Replace(t testing.TB, path, expr, repl string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("devproc: %v", err)
	}
	re := regexp.MustCompile(expr)
	if !re.Match(b) {
		t.Fatalf("devproc: %s: no match for %s", path, expr)
	}
	if err := os.WriteFile(path, re.ReplaceAll(b, []byte(repl)), 0o644); err != nil {
		t.Fatalf("devproc: %v", err)
	}
}

// Get GETs url with client and returns the body with surrounding white space
// trimmed; an answer other than 200 OK is an error with its status and body.
func Get(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)), nil
}

// PollBody GETs url with client (see Get) every interval until match accepts
// the body or timeout has passed, trying at least once. It returns the body
// and how long that took, or an error with the last answer.
func PollBody(client *http.Client, url string, interval, timeout time.Duration, match func(body string) bool) (string, time.Duration, error) {
	start := time.Now()
	var last string
	for {
		body, err := Get(client, url)
		if err == nil && match(body) {
			return body, time.Since(start), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%q", body)
		}
		if time.Since(start) >= timeout {
			return "", time.Since(start), fmt.Errorf("%s gave no wanted answer within %s; last: %s", url, timeout, last)
		}
		time.Sleep(interval)
	}
}

// WaitBody polls url every 100 ms (3 s per request, connections kept alive)
// until it answers exactly want or timeout passes; it returns how long that
// took, or an error with the last answer.
func WaitBody(url, want string, timeout time.Duration) (time.Duration, error) {
	client := &http.Client{Timeout: 3 * time.Second}
	_, took, err := PollBody(client, url, 100*time.Millisecond, timeout, func(body string) bool { return body == want })
	if err != nil {
		return took, fmt.Errorf("waiting for %q: %w", want, err)
	}
	return took, nil
}

// ProcStat is what /proc says about a process: resident memory, open file
// descriptors and threads.
type ProcStat struct {
	RSSKiB int
	// AnonKiB is the anonymous part of RSS (heap, stacks): what a leak
	// grows. The rest is file pages (the binary's code and data), which
	// grow as code paths first run and shrink under memory pressure.
	AnonKiB int
	FDs     int
	Threads int
}

// Stat reads /proc/<pid>/status and /proc/<pid>/fd.
func Stat(pid int) (ProcStat, error) {
	var s ProcStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			_, _ = fmt.Sscan(f[1], &s.RSSKiB) // a malformed line leaves 0
		case "RssAnon:":
			_, _ = fmt.Sscan(f[1], &s.AnonKiB)
		case "Threads:":
			_, _ = fmt.Sscan(f[1], &s.Threads)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	return s, nil
}
