package devtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// event is one line of `devloop -o json` (the fields the tests read).
type event struct {
	Time       time.Time      `json:"time"`
	Phase      string         `json:"phase"`
	Status     string         `json:"status"`
	Artifact   string         `json:"artifact"`
	Image      string         `json:"image"`
	DurationMs int64          `json:"durationMs"`
	Message    string         `json:"message"`
	Cycle      int            `json:"cycle"`
	Changes    []string       `json:"changes"`
	Counts     map[string]int `json:"counts"`
	URL        string         `json:"url"`
	Object     string         `json:"object"`

	seen time.Time // when the test read it
}

func (e event) String() string {
	s := e.Phase + " " + e.Status
	for _, f := range []string{e.Artifact, e.Object, e.URL} {
		if f != "" {
			s += " " + f
		}
	}
	if e.Cycle != 0 {
		s += fmt.Sprintf(" cycle=%d", e.Cycle)
	}
	if e.Message != "" {
		m := e.Message
		if len(m) > 300 {
			m = m[:300] + "…"
		}
		s += ": " + m
	}
	return s
}

// eventLog collects the events of a running devloop.
type eventLog struct {
	mu      sync.Mutex
	events  []event
	changed chan struct{} // closed and replaced at each new event
	ended   bool
	bad     []string // lines that were not JSON events
}

func newEventLog() *eventLog { return &eventLog{changed: make(chan struct{})} }

func (l *eventLog) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		line := sc.Bytes()
		if err := json.Unmarshal(line, &e); err != nil || e.Phase == "" {
			l.mu.Lock()
			l.bad = append(l.bad, string(line))
			l.mu.Unlock()
			continue
		}
		e.seen = time.Now()
		l.mu.Lock()
		l.events = append(l.events, e)
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.ended = true
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// mark is the index of the next event: events from a mark on happened after it.
func (l *eventLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

// since returns the events from index from on.
func (l *eventLog) since(from int) []event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from > len(l.events) {
		return nil
	}
	return append([]event(nil), l.events[from:]...)
}

// waitFor waits for the first event at or after from that matches, and
// returns it with its index; ok is false on timeout or when devloop ended.
func (l *eventLog) waitFor(from int, timeout time.Duration, match func(event) bool) (event, int, bool) {
	deadline := time.After(timeout)
	next := from
	for {
		l.mu.Lock()
		for ; next < len(l.events); next++ {
			if match(l.events[next]) {
				e := l.events[next]
				l.mu.Unlock()
				return e, next, true
			}
		}
		ended, changed := l.ended, l.changed
		l.mu.Unlock()
		if ended {
			return event{}, -1, false
		}
		select {
		case <-changed:
		case <-deadline:
			return event{}, -1, false
		}
	}
}

func is(phase, status string) func(event) bool {
	return func(e event) bool { return e.Phase == phase && e.Status == status }
}

// cycleEnd matches the end (done, failed or skipped) of cycle n.
func cycleEnd(n int) func(event) bool {
	return func(e event) bool {
		return e.Phase == "cycle" && e.Cycle == n && (e.Status == "done" || e.Status == "failed" || e.Status == "skipped")
	}
}

// tailBuffer keeps the last max bytes written to it (devloop's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// servedPod is a "serving pod" or "switched to pod" line of the
// port-forward's log (devloop -v).
type servedPod struct {
	pod string
	at  time.Time
}

var servingPodRE = regexp.MustCompile(`(?:serving|switched to) pod.*"pod": "([^"]+)"`)

// stderrTap keeps devloop's stderr tail and records which pod the
// port-forward serves, from its log lines.
type stderrTap struct {
	tail    *tailBuffer
	mu      sync.Mutex
	partial []byte
	served  []servedPod
}

func (w *stderrTap) Write(p []byte) (int, error) {
	_, _ = w.tail.Write(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		if m := servingPodRE.FindSubmatch(w.partial[:i]); m != nil {
			w.served = append(w.served, servedPod{pod: string(m[1]), at: time.Now()})
		}
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > 1<<20 {
		w.partial = nil
	}
	return len(p), nil
}

// servedPods returns the pods the port-forward switched to, in order.
func (w *stderrTap) servedPods() []servedPod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]servedPod(nil), w.served...)
}

// devSession is one running `devloop dev -o json`.
type devSession struct {
	t      *testing.T
	env    *testenv.Env
	dir    string
	name   string
	binary string
	cmd    *exec.Cmd
	events *eventLog
	stderr *tailBuffer
	tap    *stderrTap
	exited chan struct{}
	err    error // cmd.Wait's, once exited is closed
}

// startDev starts devloop dev in dir; the process is stopped (SIGINT, then
// SIGKILL) when the test ends if it is still running.
func startDev(t *testing.T, env *testenv.Env, dir, name string, args ...string) *devSession {
	t.Helper()
	s := &devSession{t: t, env: env, dir: dir, name: name, binary: testenv.Binary(t),
		events: newEventLog(), stderr: &tailBuffer{max: 256 << 10}, exited: make(chan struct{})}
	s.cmd = exec.Command(s.binary, append([]string{"dev", "-o", "json"}, args...)...)
	s.cmd.Dir = dir
	s.cmd.Env = os.Environ()
	s.tap = &stderrTap{tail: s.stderr}
	s.cmd.Stderr = s.tap
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("devloop dev: %v", err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting devloop dev: %v", err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		s.events.read(stdout)
	}()
	go func() {
		<-readDone
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
			return
		default:
		}
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(3 * time.Minute):
			t.Logf("devloop dev did not end 3m after SIGINT: killing it")
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

// fatalf ends the test with devloop's recent events and stderr.
func (s *devSession) fatalf(format string, args ...any) {
	s.t.Helper()
	s.dump()
	s.t.Fatalf(format, args...)
}

func (s *devSession) dump() {
	s.t.Helper()
	evs := s.events.since(0)
	if len(evs) > 60 {
		evs = evs[len(evs)-60:]
	}
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "  %s %s\n", e.seen.Format("15:04:05.000"), e)
	}
	errTail := s.stderr.String()
	if len(errTail) > 6000 {
		errTail = errTail[len(errTail)-6000:]
	}
	s.t.Logf("last devloop events:\n%s\ndevloop stderr (tail):\n%s", b.String(), errTail)
}

// waitFor is eventLog.waitFor that fails the test on timeout.
func (s *devSession) waitFor(from int, timeout time.Duration, what string, match func(event) bool) (event, int) {
	s.t.Helper()
	e, i, ok := s.events.waitFor(from, timeout, match)
	if !ok {
		s.fatalf("no %s within %s (or devloop ended)", what, timeout)
	}
	return e, i
}

// waitCycle waits for the next cycle to start at or after from and to end;
// it returns the start index and the end event.
func (s *devSession) waitCycle(from int, timeout time.Duration) (start event, startIdx int, end event) {
	s.t.Helper()
	start, startIdx = s.waitFor(from, timeout, "cycle start", is("cycle", "start"))
	end, _ = s.waitFor(startIdx, timeout, fmt.Sprintf("end of cycle %d", start.Cycle), cycleEnd(start.Cycle))
	return start, startIdx, end
}

// write writes a file of the copy (relative to the copy's directory).
func (s *devSession) write(rel, content string) {
	s.t.Helper()
	writeFile(s.t, filepath.Join(s.dir, rel), content)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceIn rewrites a file with a regexp, failing if it does not match.
func replaceIn(t *testing.T, path, pattern, repl string) {
	t.Helper()
	b := readFile(t, path)
	re := regexp.MustCompile(pattern)
	if !re.MatchString(b) {
		t.Fatalf("%s: no match for %q", path, pattern)
	}
	writeFile(t, path, re.ReplaceAllString(b, repl))
}

func versionSource(v string) string {
	return fmt.Sprintf("package main\n\n// Version is shown on the page and served at /version.\nconst Version = %q\n", v)
}

// freePort returns a TCP port on 127.0.0.1 that nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// portFree reports whether 127.0.0.1:port can be listened on.
func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

var quickClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// getVersion asks the web app for its version through the port-forward.
func getVersion(url string) (string, error) {
	resp, err := quickClient.Get(url + "/version")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /version: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return strings.TrimSpace(string(b)), nil
}

// waitVersion polls url until /version contains want; it returns when it did.
func (s *devSession) waitVersion(url, want string, timeout time.Duration) time.Time {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	var lastErr error
	for time.Now().Before(deadline) {
		v, err := getVersion(url)
		if err == nil && strings.Contains(v, want) {
			return time.Now()
		}
		last, lastErr = v, err
		time.Sleep(100 * time.Millisecond)
	}
	s.fatalf("%s/version did not answer %q within %s (last answer %q, error %v)", url, want, timeout, last, lastErr)
	return time.Time{}
}

// kubectl runs kubectl and returns its output and error (no test failure).
func (s *devSession) kubectl(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := s.env.Command(ctx, "kubectl", args...).CombinedOutput()
	return string(out), err
}

// pod is what the tests need of a notes-web pod.
type pod struct {
	name       string
	created    time.Time
	readySince time.Time
	ready      bool
	deleting   bool
}

// webPods lists the notes-web pods.
func (s *devSession) webPods() []pod {
	s.t.Helper()
	out, err := s.kubectl(30*time.Second, "get", "pods", "-n", s.name, "-l", "app.kubernetes.io/name=notes-web", "-o", "json")
	if err != nil {
		s.fatalf("listing notes-web pods: %v\n%s", err, out)
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name              string     `json:"name"`
				CreationTimestamp time.Time  `json:"creationTimestamp"`
				DeletionTimestamp *time.Time `json:"deletionTimestamp"`
			} `json:"metadata"`
			Status struct {
				Phase      string `json:"phase"`
				Conditions []struct {
					Type               string    `json:"type"`
					Status             string    `json:"status"`
					LastTransitionTime time.Time `json:"lastTransitionTime"`
				} `json:"conditions"`
			} `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		s.fatalf("decoding the notes-web pods: %v\n%s", err, out)
	}
	var pods []pod
	for _, it := range list.Items {
		p := pod{name: it.Metadata.Name, created: it.Metadata.CreationTimestamp, deleting: it.Metadata.DeletionTimestamp != nil}
		for _, c := range it.Status.Conditions {
			if c.Type == "Ready" {
				p.ready = c.Status == "True" && it.Status.Phase == "Running" && !p.deleting
				p.readySince = c.LastTransitionTime
			}
		}
		pods = append(pods, p)
	}
	return pods
}

// newestReady is the pod devloop's port-forward serves (the newest Ready
// one: by creation, then by the time it became Ready, then by name).
func newestReady(pods []pod) (pod, int) {
	var best pod
	n := 0
	for _, p := range pods {
		if !p.ready {
			continue
		}
		n++
		if best.name == "" || newerPod(p, best) {
			best = p
		}
	}
	return best, n
}

func newerPod(a, b pod) bool {
	if !a.created.Equal(b.created) {
		return a.created.After(b.created)
	}
	if !a.readySince.Equal(b.readySince) {
		return a.readySince.After(b.readySince)
	}
	return a.name > b.name
}

// descendants lists the processes whose parent chain leads to pid.
func descendants(pid int) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[p] = pp
	}
	var out []int
	for p := range parent {
		for q, n := parent[p], 0; q > 1 && n < 64; q, n = parent[q], n+1 {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// processesMentioning lists live processes whose command line or executable
// mentions any of needles (devloop's binary, the copy's directory).
func processesMentioning(needles ...string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		cmdline := strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " ")
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		for _, n := range needles {
			if strings.Contains(cmdline, n) || exe == n {
				out = append(out, fmt.Sprintf("%d: %s", p, cmdline))
				break
			}
		}
	}
	return out
}

func alive(pid int) bool {
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
