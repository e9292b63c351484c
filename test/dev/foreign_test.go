package devtest

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// TestDevForeignObject: `devloop dev` over a hand-made object of the same
// name reports the refusal and keeps running; adopting it in devloop.yaml
// (a reload) applies it, and Ctrl-C's cleanup leaves it in place.
func TestDevForeignObject(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "devforeign")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "devloop.yaml"), "apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: df-"+ns[len(ns)-5:]+
		"\ndeploy:\n  kustomize:\n    path: k8s\n  statusTimeout: 1m\n")
	writeFile(t, filepath.Join(dir, "k8s", "kustomization.yaml"), "namespace: "+ns+"\nresources: [handmade.yaml, ours.yaml]\n")
	writeFile(t, filepath.Join(dir, "k8s", "handmade.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: handmade\ndata:\n  owner: devloop\n")
	writeFile(t, filepath.Join(dir, "k8s", "ours.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ours\ndata:\n  owner: devloop\n")
	env.Kubectl(t, "-n", ns, "create", "configmap", "handmade", "--from-literal=owner=human")

	p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(t), Dir: dir, Args: []string{"dev", "-o", "json"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Minute) })
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf(format+"\nevents:\n%s", append(args, p.Tail(30))...)
	}
	start, i, err := p.WaitFor(context.Background(), 0, 2*time.Minute, is("cycle", "start"))
	if err != nil {
		fail("no cycle: %v", err)
	}
	end, i, err := p.WaitFor(context.Background(), i, 2*time.Minute, cycleEnd(start.Cycle))
	if err != nil || end.Status != "failed" || !strings.Contains(end.Message, "ConfigMap/"+ns+"/handmade") || !strings.Contains(end.Message, "--adopt") {
		fail("first cycle over a hand-made object: %v %s %q, want failed naming it and --adopt", err, end.Status, end.Message)
	}
	if p.Exited() {
		fail("devloop dev ended after a refused apply")
	}
	owner := func(cm string) string {
		return strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "configmap", cm, "-o", "jsonpath={.data.owner}"))
	}
	if got := owner("handmade"); got != "human" {
		t.Errorf("the hand-made ConfigMap was changed: owner=%q", got)
	}

	replaceIn(t, filepath.Join(dir, "devloop.yaml"), `(?m)^(\s+)statusTimeout: 1m$`, "${1}statusTimeout: 1m\n${1}adopt: true")
	start, i, err = p.WaitFor(context.Background(), i, 2*time.Minute, is("cycle", "start"))
	if err != nil {
		fail("no cycle after adopt: true: %v", err)
	}
	if end, _, err = p.WaitFor(context.Background(), i, 2*time.Minute, cycleEnd(start.Cycle)); err != nil || end.Status != "done" {
		fail("cycle after adopt: true: %v %s %q", err, end.Status, end.Message)
	}
	if got := owner("handmade"); got != "devloop" {
		t.Errorf("the adopted ConfigMap was not applied: owner=%q", got)
	}

	if p.Stop(time.Minute) {
		fail("devloop dev did not end within 1m of SIGINT")
	}
	var left bool
	for _, e := range p.Events() {
		if e.Phase == "cleanup" && strings.Contains(e.Message, "ConfigMap/"+ns+"/handmade") && strings.Contains(e.Message, "adopted") {
			left = true
		}
	}
	if !left {
		fail("the cleanup does not say it left the adopted ConfigMap in place")
	}
	if got := owner("handmade"); got != "devloop" {
		t.Errorf("the adopted ConfigMap is gone after dev's cleanup (owner=%q)", got)
	}
	out, err := env.Command(context.Background(), "kubectl", "-n", ns, "get", "configmap", "ours").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "NotFound") {
		t.Errorf("ConfigMap ours, which devloop created, survived dev's cleanup: %s", out)
	}
}
