// Package kindtest holds the end-to-end tests of devloop on the real kind
// cluster that `make env-up` creates with kind's own CLI (context
// kind-devloop, kind's local registry on localhost:5001): detection from the
// real node, both delivery paths (node import, the advertised registry),
// pods Running the delivered images and serving through devloop's
// port-forward, `devloop dev` serving an edit and keeping the data.
package kindtest

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

type event = devproc.Event

// kit drives one copy of an app on the kind cluster.
type kit struct {
	t    *testing.T
	env  *testenv.Env
	dir  string
	name string // the config name, also the namespace
}

func newKit(t *testing.T, env *testenv.Env, dir, name string) *kit {
	k := &kit{t: t, env: env, dir: dir, name: name}
	t.Cleanup(func() {
		r := k.devloop(3*time.Minute, "delete", "--data")
		if r.Code != 0 {
			t.Logf("cleanup: devloop delete --data exited %d: %s", r.Code, tail(r.Stdout+r.Stderr, 10))
		}
		_ = k.kubectlErr(time.Minute, "delete", "namespace", name, "--wait=false", "--ignore-not-found")
	})
	return k
}

// devloop runs devloop against the kind context.
func (k *kit) devloop(timeout time.Duration, args ...string) testenv.Result {
	k.t.Helper()
	return k.env.Devloop(k.t, k.dir, timeout, append([]string{"--kube-context", k.env.KindContext}, args...)...)
}

// run is `devloop run -o json` that must exit 0; it returns the events.
func (k *kit) run(args ...string) []event {
	k.t.Helper()
	r := k.devloop(10*time.Minute, append([]string{"run", "-o", "json"}, args...)...)
	evs, err := devproc.ParseEvents(r.Stdout)
	if err != nil {
		k.t.Fatal(err)
	}
	if r.Code != 0 {
		k.t.Fatalf("devloop run %v exited %d; events:%s\nstderr:\n%s", args, r.Code, dump(evs), tail(r.Stderr, 40))
	}
	return evs
}

func (k *kit) kubectl(args ...string) string {
	k.t.Helper()
	out, err := k.env.Command(context.Background(), "kubectl", append([]string{"--context", k.env.KindContext, "-n", k.name}, args...)...).CombinedOutput()
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (k *kit) kubectlErr(timeout time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return k.env.Command(ctx, "kubectl", append([]string{"--context", k.env.KindContext}, args...)...).Run()
}

// runningImages returns, for the pods the label selector selects,
// "deletionTimestamp|phase image imageID ready" per container, e.g.
// "|Running docker.io/library/notes-web:abc sha256:… true".
func (k *kit) runningImages(selector string) []string {
	k.t.Helper()
	out := k.kubectl("get", "pods", "-l", selector, "-o",
		`jsonpath={range .items[*]}{.metadata.deletionTimestamp}{"|"}{.status.phase}{" "}{range .status.containerStatuses[*]}{.image}{" "}{.imageID}{" "}{.ready}{end}{"\n"}{end}`)
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// assertRunning fails unless the selector matches pods and each is Running and ready with
// a container whose image or image ID contains want (a name:tag or a digest).
func (k *kit) assertRunning(selector, want string) {
	k.t.Helper()
	var pods []string
	for _, p := range k.runningImages(selector) {
		// Pods being deleted are the previous rollout's.
		if deleting, rest, _ := strings.Cut(p, "|"); deleting == "" {
			pods = append(pods, rest)
		}
	}
	if len(pods) == 0 {
		k.t.Fatalf("no pod matches %s (but pods being deleted)", selector)
	}
	for _, p := range pods {
		if !strings.HasPrefix(p, "Running ") || !strings.HasSuffix(p, " true") || !strings.Contains(p, want) {
			k.t.Errorf("pod of %s: %q; want Running and ready with %s", selector, p, want)
		}
	}
}

// registryBytes is the size of the blobs kind's local registry stores, read
// in its container: what a push made travel, counted from outside devloop.
func (k *kit) registryBytes() int64 {
	k.t.Helper()
	// The directory appears with the first push.
	out, err := k.env.Command(context.Background(), "docker", "exec", "kind-registry", "sh", "-c",
		"du -sb /var/lib/registry/docker/registry/v2/blobs 2>/dev/null || echo 0").Output()
	if err != nil {
		k.t.Fatalf("du in kind-registry: %v", err)
	}
	n, err := strconv.ParseInt(strings.Fields(string(out))[0], 10, 64)
	if err != nil {
		k.t.Fatalf("du in kind-registry printed %q", out)
	}
	return n
}

// digestOf is the sha256:… of a digest reference.
func digestOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		return ref[i+1:]
	}
	return ref
}

// forwardAndGet starts `devloop run --port-forward`, GETs path through the
// forward and stops devloop.
func (k *kit) forwardAndGet(path string, extra ...string) string {
	k.t.Helper()
	args := append([]string{"--kube-context", k.env.KindContext, "run", "--port-forward", "-o", "json"}, extra...)
	p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(k.t), Dir: k.dir, Args: args})
	if err != nil {
		k.t.Fatal(err)
	}
	defer p.Stop(15 * time.Second)
	pf, _, err := p.WaitFor(context.Background(), 0, 4*time.Minute, func(e event) bool { return e.Phase == "portforward" && e.URL != "" })
	if err != nil {
		k.t.Fatalf("no port-forward within 4m (%v)\nstderr:\n%s", err, tail(p.Stderr(), 30))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	body, _, err := devproc.PollBody(client, strings.TrimRight(pf.URL, "/")+path, 300*time.Millisecond, 30*time.Second,
		func(string) bool { return true })
	if err != nil {
		k.t.Fatalf("GET %s%s through devloop's port-forward: %v", pf.URL, path, err)
	}
	return body
}

func filter(evs []event, phase, status string) []event {
	var out []event
	for _, e := range evs {
		if e.Phase == phase && (status == "" || e.Status == status) {
			out = append(out, e)
		}
	}
	return out
}

func byArtifact(evs []event, phase string) map[string]event {
	m := map[string]event{}
	for _, e := range evs {
		if e.Phase == phase && e.Artifact != "" && (e.Status == "done" || e.Status == "skipped" || e.Status == "failed") {
			m[e.Artifact] = e
		}
	}
	return m
}

func dump(evs []event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %s [%s] %s %s (%d B)", e.Phase, e.Status, e.Artifact, e.Image, e.Message, e.Bytes)
	}
	return b.String()
}

func tail(s string, n int) string { return testenv.Tail(s, n) }

// edit replaces old with new in path; old must occur.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	testenv.Edit(t, path, old, new)
}
