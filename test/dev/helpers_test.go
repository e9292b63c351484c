package devtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// event is one line of `devloop -o json`: devloop's own events.Event and
// when the driver read it.
type event = devproc.Event

func is(phase, status string) func(event) bool {
	return func(e event) bool { return e.Phase == phase && e.Status == status }
}

// cycleEnd matches the end (done, failed or skipped) of cycle n.
func cycleEnd(n int) func(event) bool {
	return func(e event) bool {
		return e.Phase == "cycle" && e.Cycle == n && (e.Status == "done" || e.Status == "failed" || e.Status == "skipped")
	}
}

// servedPod is a "serving pod" or "switched to pod" line of the
// port-forward's log (devloop -v).
type servedPod struct {
	pod string
	at  time.Time
}

var servingPodRE = regexp.MustCompile(`(?:serving|switched to) pod.*"pod": "([^"]+)"`)

// stderrTap records which pod the port-forward serves, from the log lines
// of devloop's stderr.
type stderrTap struct {
	mu      sync.Mutex
	partial []byte
	served  []servedPod
}

func (w *stderrTap) Write(p []byte) (int, error) {
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
	proc   *devproc.Proc
	tap    *stderrTap
}

// startDev starts devloop dev in dir; the process is stopped (SIGINT, then
// SIGKILL) when the test ends if it is still running.
func startDev(t *testing.T, env *testenv.Env, dir, name string, args ...string) *devSession {
	t.Helper()
	s := &devSession{t: t, env: env, dir: dir, name: name, binary: testenv.Binary(t), tap: &stderrTap{}}
	p, err := devproc.Launch(devproc.Command{Binary: s.binary, Dir: dir, Args: append([]string{"dev", "-o", "json"}, args...), Stderr: s.tap})
	if err != nil {
		t.Fatalf("devloop dev: %v", err)
	}
	s.proc = p
	t.Cleanup(func() {
		if p.Stop(3 * time.Minute) {
			t.Logf("devloop dev did not end 3m after SIGINT: killed it")
		}
	})
	return s
}

// fatalf ends the test with devloop's recent events and stderr.
func (s *devSession) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Logf("devloop dev:\n%s", s.proc.Tail(60))
	s.t.Fatalf(format, args...)
}

// waitFor waits for the first event at or after from that matches and
// returns it with its index; it fails the test on timeout or when devloop
// ended.
func (s *devSession) waitFor(from int, timeout time.Duration, what string, match func(event) bool) (event, int) {
	s.t.Helper()
	e, i, err := s.proc.WaitFor(context.Background(), from, timeout, match)
	if err != nil {
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

var quickClient = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// getVersion asks the web app for its version through the port-forward.
func getVersion(url string) (string, error) {
	return devproc.Get(quickClient, url+"/version")
}

// waitVersion polls url until /version contains want; it returns when it did.
func (s *devSession) waitVersion(url, want string, timeout time.Duration) time.Time {
	s.t.Helper()
	_, _, err := devproc.PollBody(quickClient, url+"/version", 100*time.Millisecond, timeout, func(v string) bool {
		return strings.Contains(v, want)
	})
	if err != nil {
		s.fatalf("%s/version did not answer %q: %v", url, want, err)
	}
	return time.Now()
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
