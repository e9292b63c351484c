// Package faults holds end-to-end tests that disrupt shared parts of the
// real environment (the API server, the Docker Engine) or devloop itself
// (signals) and check that devloop fails cleanly and recovers. They stop
// daemons that every other test uses, so they run only with DEVLOOP_FAULTS=1,
// one package at a time (`go test -p 1 ./test/faults/`), after the main suite.
package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// requireFaults skips unless fault injection was asked for, and returns the
// environment.
func requireFaults(t *testing.T) *testenv.Env {
	t.Helper()
	if os.Getenv("DEVLOOP_FAULTS") != "1" {
		t.Skip("fault tests stop shared daemons; set DEVLOOP_FAULTS=1 and run them alone (go test -p 1 ./test/faults/)")
	}
	return testenv.Require(t)
}

// envShell runs a bash snippet with hack/env's lib.sh and the named
// component scripts sourced (e.g. "cluster.sh"), and returns its output.
func envShell(ctx context.Context, t *testing.T, script string, sources ...string) (string, error) {
	t.Helper()
	root := testenv.RepoRoot(t)
	var b strings.Builder
	b.WriteString("source hack/env/lib.sh\n")
	for _, s := range sources {
		fmt.Fprintf(&b, "source hack/env/%s\n", s)
	}
	b.WriteString(script)
	cmd := exec.CommandContext(ctx, "bash", "-c", b.String())
	cmd.Dir = root
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustEnvShell(t *testing.T, timeout time.Duration, script string, sources ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if out, err := envShell(ctx, t, script, sources...); err != nil {
		t.Fatalf("hack/env: %s: %v\n%s", script, err, out)
	}
}

// The API server alone: stop_daemon by its pid file; _kc_control_plane_up
// starts what is not running (etcd, controller-manager and scheduler are left
// as they are) and waits for /readyz.
const (
	stopAPIServer  = "stop_daemon kube-apiserver 20"
	startAPIServer = "_kc_control_plane_up"
	stopDockerd    = "default_engine_down"
	startDockerd   = "default_engine_up"
)

// restoreOnCleanup makes sure the daemon runs again when the test ends,
// whatever happened.
func restoreOnCleanup(t *testing.T, start string, sources ...string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if out, err := envShell(ctx, t, start, sources...); err != nil {
			t.Errorf("restoring the environment (%s): %v\n%s", start, err, out)
		}
	})
}

// notesCopy copies examples/notes with a free local port and returns the
// directory, its namespace and the port-forward URL. The namespace and what
// devloop applied are removed when the test ends (after any devloop started
// later has stopped).
func notesCopy(t *testing.T, env *testenv.Env) (dir, ns, url string) {
	t.Helper()
	dir, ns = testenv.CopyExample(t, "notes")
	port := devproc.FreePort(t)
	devproc.SetLocalPort(t, dir, port)
	t.Cleanup(func() { deleteAll(t, env, dir, ns) })
	return dir, ns, fmt.Sprintf("http://127.0.0.1:%d", port)
}

// deleteAll deletes what devloop applied from dir (PVCs included) and the
// namespace, without failing the test.
func deleteAll(t *testing.T, env *testenv.Env, dir, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), "delete", "--data", "--wait=false")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("cleanup: devloop delete --data: %v\n%s", err, out)
	}
	_ = env.Command(ctx, "kubectl", "delete", "namespace", ns, "--wait=false", "--ignore-not-found").Run()
}

// startDev runs `devloop dev -o json` in dir and waits until the first pass
// serves want through url. It returns the process and the index of the next
// event.
func startDev(t *testing.T, dir, url, want string, args ...string) (*devproc.Proc, int) {
	t.Helper()
	p := devproc.Start(t, testenv.Binary(t), dir, append([]string{"dev", "-o", "json"}, args...)...)
	_, next := p.Next(t, 0, 6*time.Minute, "the first cycle", func(e devproc.Event) bool {
		return e.Phase == "cycle" && e.Status != "start"
	})
	ev := p.Events()
	if last := ev[next-1]; last.Status != "done" {
		t.Fatalf("first cycle: %s\n%s", last, p.Tail(40))
	}
	if _, err := devproc.WaitBody(url+"/version", want, 60*time.Second); err != nil {
		t.Fatalf("first cycle deployed but %v\n%s", err, p.Tail(40))
	}
	t.Logf("first pass serving %q after %s", want, time.Since(p.Started).Round(time.Millisecond))
	return p, next
}

// version returns the notes web Version of a copied example.
func version(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "web", "version.go"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `const Version = "`)
	if i < 0 {
		t.Fatalf("no Version in web/version.go")
	}
	rest := string(b)[i+len(`const Version = "`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// editAndServe edits web/version.go to v and waits (up to timeout) for v at
// url, returning the duration; it fails the test if v never appears.
func editAndServe(t *testing.T, p *devproc.Proc, dir, url, v string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	from := len(p.Events())
	devproc.SetVersion(t, dir, v)
	if _, err := devproc.WaitBody(url+"/version", v, timeout); err != nil {
		t.Fatalf("after editing web/version.go to %q: %v\n%s", v, err, p.Tail(40))
	}
	took := time.Since(start)
	// Where the time went, from devloop's own events.
	var phases []string
	for _, e := range p.Events()[from:] {
		if e.Status != "info" {
			phases = append(phases, fmt.Sprintf("+%s %s %s %dms", e.Time.Sub(start).Round(time.Millisecond), e.Phase, e.Status, e.DurationMs))
		}
	}
	t.Logf("edit → served in %s; devloop's events:\n  %s", took.Round(time.Millisecond), strings.Join(phases, "\n  "))
	return took
}

// liveObjects lists the kinds/names of workload-ish objects left in ns.
func liveObjects(t *testing.T, env *testenv.Env, ns string) []string {
	t.Helper()
	out, err := env.Command(context.Background(), "kubectl", "-n", ns, "get",
		"deployments,statefulsets,services,configmaps,jobs,secrets,persistentvolumeclaims",
		"-o", "name", "--ignore-not-found").CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "NotFound") {
			return nil
		}
		t.Fatalf("kubectl get: %v\n%s", err, out)
	}
	var objs []string
	for _, l := range strings.Fields(string(out)) {
		if strings.HasSuffix(l, "/kube-root-ca.crt") || strings.HasPrefix(l, "secret/default-token") {
			continue
		}
		objs = append(objs, l)
	}
	return objs
}
