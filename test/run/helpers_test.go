// Package runtest holds the end-to-end tests of `devloop run`, of devloop's
// handling of bad input and of profiles, against the real binary (and, where
// a test says so, the real environment of hack/env).
package runtest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// event is one line of `devloop -o json`: devloop's own events.Event, as
// the shared driver decodes it.
type event = devproc.Event

// parseEvents decodes every line of stdout; a line that is not an event fails
// the test (stdout of -o json must hold events only).
func parseEvents(t testing.TB, stdout string) []event {
	t.Helper()
	evs, err := devproc.ParseEvents(stdout)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// filter returns the events of phase (and status, when not empty).
func filter(evs []event, phase, status string) []event {
	var out []event
	for _, e := range evs {
		if e.Phase == phase && (status == "" || e.Status == status) {
			out = append(out, e)
		}
	}
	return out
}

// buildStatus maps artifact → the outcome of its build (done, skipped or
// failed; start and info events are progress).
func buildStatus(evs []event) map[string]string {
	m := map[string]string{}
	for _, e := range filter(evs, "build", "") {
		if (e.Status == "done" || e.Status == "skipped" || e.Status == "failed") && e.Artifact != "" {
			m[e.Artifact] = e.Status
		}
	}
	return m
}

// applyChanges maps object → action from the apply info events.
func applyChanges(evs []event) map[string]string {
	m := map[string]string{}
	for _, e := range filter(evs, "apply", "info") {
		m[e.Object] = e.Message
	}
	return m
}

// applyCounts returns the counts of the apply done event; the test fails if
// there is none.
func applyCounts(t testing.TB, evs []event) map[string]int {
	t.Helper()
	done := filter(evs, "apply", "done")
	if len(done) != 1 {
		t.Fatalf("want one apply done event, got %d: %s", len(done), dump(evs))
	}
	return done[0].Counts
}

func dump(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		b.WriteString("\n  " + e.Phase + " " + e.Status)
		if e.Artifact != "" {
			b.WriteString(" [" + e.Artifact + "]")
		}
		if e.Object != "" {
			b.WriteString(" " + e.Object)
		}
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
	}
	return b.String()
}

// result is a finished devloop process.
type result = testenv.Result

// devloop runs the devloop binary in dir with the test's environment plus
// the overrides ("NAME=value"; later ones win); a hang or a panic fails the
// test.
func devloop(t testing.TB, dir string, overrides []string, timeout time.Duration, args ...string) result {
	t.Helper()
	return testenv.RunDevloop(t, dir, overrides, timeout, args...)
}

func tail(s string, n int) string { return testenv.Tail(s, n) }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	return devproc.FreePort(t)
}

// edit replaces old with new in dir/rel; old must occur.
func edit(t testing.TB, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	writeFile(t, dir, rel, strings.Replace(string(b), old, new, 1))
}

// readFile returns the content of dir/rel.
func readFile(t testing.TB, dir, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeFile writes dir/rel, creating its directory.
func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// setLocalPort points the copy's port-forward at port.
func setLocalPort(t testing.TB, dir string, port int) {
	t.Helper()
	edit(t, dir, "devloop.yaml", "localPort: 8080", "localPort: "+strconv.Itoa(port))
}

// forwardAndGet starts `devloop run --port-forward` in dir, waits for its
// portforward event, GETs path through it and stops devloop with SIGINT. It
// returns the body.
func forwardAndGet(t testing.TB, dir, path string) string {
	t.Helper()
	p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(t), Dir: dir, Args: []string{"run", "--port-forward", "-o", "json"}})
	if err != nil {
		t.Fatal(err)
	}
	pf, _, err := p.WaitFor(context.Background(), 0, 4*time.Minute, func(e event) bool {
		return e.Phase == "portforward" && e.URL != ""
	})
	if err != nil {
		if p.Exited() {
			t.Fatalf("devloop run --port-forward ended (%v) before forwarding\nstderr:\n%s", p.Err(), tail(p.Stderr(), 30))
		}
		p.Stop(0)
		t.Fatalf("no portforward event with a url within 4m\nstderr:\n%s", tail(p.Stderr(), 30))
	}
	url := pf.URL
	client := &http.Client{Timeout: 5 * time.Second}
	body, _, getErr := devproc.PollBody(client, strings.TrimRight(url, "/")+path, 500*time.Millisecond, 30*time.Second,
		func(string) bool { return true })
	if p.Stop(15 * time.Second) {
		t.Errorf("devloop run --port-forward did not exit within 15s of SIGINT")
	} else if ee := (*exec.ExitError)(nil); errors.As(p.Err(), &ee) && ee.ExitCode() != 0 && ee.ExitCode() != 130 {
		t.Errorf("devloop run --port-forward exited %d after SIGINT\n%s", ee.ExitCode(), tail(p.Stderr(), 20))
	}
	if getErr != nil {
		t.Fatalf("GET %s%s through devloop's port-forward: %v", url, path, getErr)
	}
	return body
}
