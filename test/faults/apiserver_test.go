package faults

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// TestAPIServerOutage stops the API server for 20 s under `devloop dev`:
// devloop must stay up, say that something is wrong, refuse connections to
// its port-forward while nothing can be served (never a hang), serve through
// the same local port again within 2 s of the API server being ready, and an
// edit after the outage must deploy and be served.
func TestAPIServerOutage(t *testing.T) {
	env := requireFaults(t)
	dir, _, url := notesCopy(t, env)
	before := version(t, dir)
	p, next := startDev(t, dir, url, before)

	restoreOnCleanup(t, startAPIServer, "cluster.sh")
	stderrBefore := len(p.Stderr())
	stopped := time.Now()
	mustEnvShell(t, time.Minute, stopAPIServer, "cluster.sh")
	// It drains its watches before it exits: the outage starts now.
	t.Logf("API server stopped in %s", time.Since(stopped).Round(time.Millisecond))
	down := time.Now()
	if out, err := envShell(t.Context(), t, `curl -fsS -m 2 --cacert "$STATE/pki/ca.crt" https://127.0.0.1:6443/readyz`); err == nil {
		t.Fatalf("the API server still answers after stop_daemon: %s", out)
	}
	// The forward's connection closed with the API server: within a few
	// seconds a client is refused at once instead of left waiting.
	refusedAt := waitRefused(t, url, 10*time.Second)
	t.Logf("port-forward refusing connections %s after the API server stopped", refusedAt.Sub(down).Round(time.Millisecond))
	time.Sleep(20*time.Second - time.Since(down))
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		_ = c.Close()
		t.Errorf("a connection to the port-forward during the outage was accepted; want refused")
	}
	if p.Exited() {
		t.Fatalf("devloop exited while the API server was down\n%s", p.Tail(40))
	}
	// The trouble must be visible: an event that failed or informs, or a
	// line on stderr, naming the API server's address or a connection error.
	var said []string
	for _, e := range p.Events()[next:] {
		if e.Status == "failed" || e.Status == "info" {
			said = append(said, e.String())
		}
	}
	newStderr := p.Stderr()[stderrBefore:]
	for _, l := range strings.Split(newStderr, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			said = append(said, l)
		}
	}
	reported := false
	for _, s := range said {
		ls := strings.ToLower(s)
		if strings.Contains(ls, "6443") || strings.Contains(ls, "refused") || strings.Contains(ls, "api server") ||
			strings.Contains(ls, "apiserver") || strings.Contains(ls, "unavailable") || strings.Contains(ls, "connection") {
			reported = true
		}
	}
	t.Logf("during the outage devloop said (%d lines):\n  %s", len(said), strings.Join(first(said, 15), "\n  "))

	restarted := time.Now()
	mustEnvShell(t, 3*time.Minute, startAPIServer, "cluster.sh")
	ready := time.Now()
	t.Logf("API server ready again after %s", time.Since(restarted).Round(time.Millisecond))
	if _, err := devproc.WaitBody(url+"/version", before, 10*time.Second); err != nil {
		t.Fatalf("the port-forward did not serve again after the API server came back: %v\n%s", err, p.Tail(40))
	}
	recovered := time.Since(ready)
	t.Logf("port-forward serving again %s after the API server was ready", recovered.Round(time.Millisecond))
	if recovered > 2*time.Second {
		t.Errorf("the port-forward served again %s after the API server was ready, want <= 2 s", recovered.Round(time.Millisecond))
	}
	if p.Exited() {
		t.Fatalf("devloop exited after the API server came back\n%s", p.Tail(40))
	}

	v := fmt.Sprintf("v-apiserver-%d", time.Now().UnixNano())
	d := editAndServe(t, p, dir, url, v, 4*time.Minute)
	t.Logf("edit after the outage served through the same port-forward in %s", d.Round(time.Millisecond))
	if p.Exited() {
		t.Fatalf("devloop exited\n%s", p.Tail(40))
	}
	if !reported {
		t.Errorf("devloop said nothing about the API server being unreachable during a 20 s outage (events after the stop and stderr: %q)", said)
	}
}

// waitRefused waits until a connection to url's host:port is refused (or
// reset at once) and returns when that was first seen.
func waitRefused(t *testing.T, url string, within time.Duration) time.Time {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return time.Now()
		}
		_ = c.Close()
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the port-forward at %s still accepts connections %s after the API server stopped", addr, within)
	return time.Time{}
}

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
