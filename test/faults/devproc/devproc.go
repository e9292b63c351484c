// Package devproc runs devloop as a child process for end-to-end tests that
// need to disrupt it or the environment: `devloop dev -o json` (or `run`)
// with its JSON events read line by line, signals, timings and the edits a
// test makes to a copied example.
package devproc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
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

// Event is one line of devloop's `-o json` output.
type Event struct {
	Time       time.Time      `json:"time"`
	Phase      string         `json:"phase"`
	Status     string         `json:"status"`
	Artifact   string         `json:"artifact,omitempty"`
	Image      string         `json:"image,omitempty"`
	DurationMs int64          `json:"durationMs"`
	Message    string         `json:"message,omitempty"`
	Cycle      int            `json:"cycle,omitempty"`
	Changes    []string       `json:"changes,omitempty"`
	Counts     map[string]int `json:"counts,omitempty"`
	URL        string         `json:"url,omitempty"`
	Object     string         `json:"object,omitempty"`

	// Seen is when the test read the line.
	Seen time.Time `json:"-"`
}

func (e Event) String() string {
	s := e.Phase + " " + e.Status
	for _, f := range []string{e.Artifact, e.Object, e.URL, e.Message} {
		if f != "" {
			s += " " + f
		}
	}
	if e.Cycle != 0 {
		s += fmt.Sprintf(" (cycle %d)", e.Cycle)
	}
	return s
}

// Is reports whether the event has this phase and status.
func (e Event) Is(phase, status string) bool { return e.Phase == phase && e.Status == status }

// Proc is a running devloop.
type Proc struct {
	Cmd     *exec.Cmd
	Started time.Time

	mu     sync.Mutex
	events []Event
	stderr bytes.Buffer
	notify chan struct{} // closed and replaced at every new event or exit
	exited bool
	code   int
	exitAt time.Time
	done   chan struct{}
}

// Start runs the devloop binary with args in dir (stdout parsed as JSON
// events, stderr kept) and, at the end of the test, stops it with SIGINT and
// then SIGKILL after killAfter if it is still running.
func Start(t testing.TB, binary, dir string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	p := &Proc{Cmd: cmd, notify: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = lockedWriter{p}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("devproc: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("devproc: starting devloop %s: %v", strings.Join(args, " "), err)
	}
	p.Started = time.Now()
	go p.read(stdout)
	t.Cleanup(func() {
		if p.Exited() {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		if _, ok := p.Wait(3 * time.Minute); !ok {
			_ = cmd.Process.Kill()
			p.Wait(10 * time.Second)
			t.Errorf("devproc: devloop did not exit within 3m of SIGINT; killed")
		}
	})
	return p
}

type lockedWriter struct{ p *Proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.stderr.Write(b)
}

func (p *Proc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			e = Event{Phase: "stdout", Status: "text", Message: sc.Text()}
		}
		e.Seen = time.Now()
		p.mu.Lock()
		p.events = append(p.events, e)
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}
	err := p.Cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode() // -1 when killed by a signal
	}
	p.mu.Lock()
	p.exited, p.code, p.exitAt = true, code, time.Now()
	close(p.notify)
	p.notify = make(chan struct{})
	p.mu.Unlock()
	close(p.done)
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// Wait waits up to timeout for the process to end and returns its exit code
// (-1 when a signal killed it) and whether it ended.
func (p *Proc) Wait(timeout time.Duration) (int, bool) {
	select {
	case <-p.done:
	case <-time.After(timeout):
		return 0, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, true
}

// ExitedAt is when the process ended (zero while it runs).
func (p *Proc) ExitedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitAt
}

// Events returns every event read so far.
func (p *Proc) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Stderr returns what devloop wrote to stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Signal sends sig to the process.
func (p *Proc) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("devproc: signal %v: %v", sig, err)
	}
}

// Next waits up to timeout for the first event at index from or later that
// matches, and returns it with the index after it. It fails the test when
// the time runs out or the process ends first.
func (p *Proc) Next(t testing.TB, from int, timeout time.Duration, what string, match func(Event) bool) (Event, int) {
	t.Helper()
	e, next, err := p.NextErr(from, timeout, match)
	if err != nil {
		t.Fatalf("waiting for %s: %v\n%s", what, err, p.Tail(40))
	}
	return e, next
}

// NextErr is Next returning an error instead of failing the test.
func (p *Proc) NextErr(from int, timeout time.Duration, match func(Event) bool) (Event, int, error) {
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		for i := from; i < len(p.events); i++ {
			if match(p.events[i]) {
				e := p.events[i]
				p.mu.Unlock()
				return e, i + 1, nil
			}
		}
		from = len(p.events)
		exited, code, ch := p.exited, p.code, p.notify
		p.mu.Unlock()
		if exited {
			return Event{}, from, fmt.Errorf("devloop exited with code %d", code)
		}
		select {
		case <-ch:
		case <-deadline:
			return Event{}, from, fmt.Errorf("not seen within %s", timeout)
		}
	}
}

// Len is the number of events read so far (an index for Next).
func (p *Proc) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// Tail formats the last n events and the last lines of stderr, for failure
// messages.
func (p *Proc) Tail(n int) string {
	ev := p.Events()
	if len(ev) > n {
		ev = ev[len(ev)-n:]
	}
	var b strings.Builder
	b.WriteString("last events:\n")
	for _, e := range ev {
		fmt.Fprintf(&b, "  %s %s\n", e.Seen.Format("15:04:05.000"), e)
	}
	lines := strings.Split(strings.TrimSpace(p.Stderr()), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	b.WriteString("stderr tail:\n  " + strings.Join(lines, "\n  ") + "\n")
	return b.String()
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

// Get fetches url with a short timeout and returns the trimmed body.
func Get(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return strings.TrimSpace(string(b)), nil
}

// WaitBody polls url until it answers with want or timeout passes; it
// returns how long that took, or an error with the last answer.
func WaitBody(url, want string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		got, err := Get(url)
		if err == nil && got == want {
			return time.Since(start), nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start), fmt.Errorf("%s did not answer %q within %s; last: %s", url, want, timeout, last)
}

// ProcStat is what /proc says about a process: resident memory, open file
// descriptors and threads.
type ProcStat struct {
	RSSKiB  int
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
			fmt.Sscan(f[1], &s.RSSKiB)
		case "Threads:":
			fmt.Sscan(f[1], &s.Threads)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	return s, nil
}

// ParseEvent decodes one line of `-o json` output.
func ParseEvent(line string) (Event, bool) {
	var e Event
	if err := json.Unmarshal([]byte(line), &e); err != nil || e.Phase == "" {
		return Event{}, false
	}
	return e, true
}
