package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAPIServerOutage stops the API server for 20 s under `devloop dev`:
// devloop must stay up, say that something is wrong, and once the API server
// is back an edit must deploy and be served through the same port-forward.
func TestAPIServerOutage(t *testing.T) {
	env := requireFaults(t)
	dir, _, url := notesCopy(t, env)
	p, next := startDev(t, dir, url, version(t, dir))

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
	time.Sleep(20*time.Second - time.Since(down))
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
	t.Logf("API server ready again after %s", time.Since(restarted).Round(time.Millisecond))
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

func first(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
