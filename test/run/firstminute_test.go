package runtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// devloop init on examples/notes without its devloop.yaml writes one that
// devloop run deploys; it never overwrites.
func TestInitWritesAConfigThatRuns(t *testing.T) {
	env := testenv.Require(t)
	dir, name := testenv.CopyExample(t, "notes")
	if err := os.Remove(filepath.Join(dir, "devloop.yaml")); err != nil {
		t.Fatal(err)
	}
	r := devloop(t, dir, nil, time.Minute, "init")
	if r.Code != 0 {
		t.Fatalf("devloop init exited %d:\n%s", r.Code, r.Output())
	}
	cfg := readFile(t, dir, "devloop.yaml")
	for _, want := range []string{`image: "notes-web"`, `context: "web"`, `image: "notes-store"`, `image: "notes-seed"`, `path: "k8s/overlays/dev"`, `resource: "service/notes-web"`} {
		if !strings.Contains(cfg, want) {
			t.Errorf("the written devloop.yaml lacks %q:\n%s", want, cfg)
		}
	}
	t.Cleanup(func() {
		_ = devloop(t, dir, nil, 3*time.Minute, "delete", "--data")
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	if again := devloop(t, dir, nil, time.Minute, "init"); again.Code != 2 || !strings.Contains(again.Stderr, "never overwrites") {
		t.Errorf("a second devloop init exited %d (%s), want 2 and a refusal", again.Code, again.Stderr)
	}
	run := devloop(t, dir, nil, 10*time.Minute, "run", "-o", "json")
	if run.Code != 0 {
		t.Fatalf("devloop run of the written config exited %d:%s\n%s", run.Code, dump(parseEvents(t, run.Stdout)), tail(run.Stderr, 30))
	}
	if got := strings.TrimSpace(env.Kubectl(t, "-n", name, "get", "deployment", "notes-web", "-o", "jsonpath={.status.readyReplicas}")); got != "1" {
		t.Errorf("notes-web readyReplicas = %q after the run", got)
	}
}

// devloop doctor passes on the real environment, and on a machine without
// an engine says so and exits non-zero.
func TestDoctor(t *testing.T) {
	testenv.Require(t)
	dir, _ := testenv.CopyExample(t, "notes")
	r := devloop(t, dir, nil, time.Minute, "doctor")
	t.Logf("doctor:\n%s", r.Stdout)
	if r.Code != 0 {
		t.Fatalf("devloop doctor on the real environment exited %d:\n%s", r.Code, r.Output())
	}
	for _, want := range []string{"ok   engine", "ok   buildx", "ok   context", "ok   cluster", "ok   socket", "all "} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("doctor's report lacks %q", want)
		}
	}
	r = devloop(t, dir, []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, time.Minute, "doctor")
	t.Logf("doctor without an engine:\n%s", r.Stdout)
	if r.Code == 0 || !strings.Contains(r.Stdout, "FAIL engine") || !strings.Contains(r.Stdout, "no Docker Engine at unix:///nonexistent/docker.sock") ||
		!strings.Contains(r.Stdout, "start Docker") {
		t.Fatalf("doctor without an engine exited %d:\n%s", r.Code, r.Output())
	}
}
