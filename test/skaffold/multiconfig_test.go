package skaffoldtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// copyMultiConfig copies testdata/multiconfig with every kustomization's
// objects in ns and the configurations named ns, ns-api and ns-settings.
func copyMultiConfig(t *testing.T, ns string) string {
	t.Helper()
	dir := copyTree(t, "multiconfig")
	testenv.Edit(t, filepath.Join(dir, "skaffold.yaml"), "name: mc-web", "name: "+ns)
	testenv.Edit(t, filepath.Join(dir, "skaffold.yaml"), "name: mc-settings", "name: "+ns+"-settings")
	testenv.Edit(t, filepath.Join(dir, "api", "skaffold.yaml"), "name: mc-api", "name: "+ns+"-api")
	for _, k := range []string{"web/k8s", "api/k8s", "settings"} {
		inNamespace(t, filepath.Join(dir, k, "kustomization.yaml"), ns)
	}
	return dir
}

// A Skaffold project of three configurations (two documents in
// skaffold.yaml, the first requiring api/skaffold.yaml, a v2 file): -m
// deploys one configuration alone; without it devloop run deploys all
// three, the web serves through the api, and delete removes it all.
func TestRunSkaffoldMultiConfig(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "sk-multi")
	dir := copyMultiConfig(t, ns)
	t.Cleanup(func() { _ = testenv.RunDevloop(t, dir, nil, 3*time.Minute, "delete") })
	kinds := "deployments,services,configmaps"
	objects := func() string {
		var out []string
		for _, l := range strings.Fields(env.Kubectl(t, "-n", ns, "get", kinds, "-o", "name")) {
			// The namespace's own CA and devloop's inventory of what it applied.
			if l != "configmap/kube-root-ca.crt" && !strings.HasPrefix(l, "configmap/devloop-inventory-") {
				out = append(out, l)
			}
		}
		return strings.Join(out, " ")
	}

	t.Run("module", func(t *testing.T) {
		run := testenv.RunDevloop(t, dir, nil, 10*time.Minute, "run", "-m", ns+"-api")
		if run.Code != 0 {
			t.Fatalf("devloop run -m exited %d:\n%s", run.Code, testenv.Tail(run.Output(), 40))
		}
		if got, want := objects(), "deployment.apps/mc-api service/mc-api"; got != want {
			t.Errorf("after devloop run -m %s-api the namespace holds %q, want %q", ns, got, want)
		}
		if del := testenv.RunDevloop(t, dir, nil, 3*time.Minute, "delete", "-m", ns+"-api"); del.Code != 0 {
			t.Fatalf("devloop delete -m exited %d:\n%s", del.Code, testenv.Tail(del.Output(), 30))
		}
		if left := objects(); left != "" {
			t.Errorf("left after devloop delete -m: %s", left)
		}
	})

	t.Run("all", func(t *testing.T) {
		run := testenv.RunDevloop(t, dir, nil, 10*time.Minute, "run")
		if run.Code != 0 {
			t.Fatalf("devloop run exited %d:\n%s", run.Code, testenv.Tail(run.Output(), 40))
		}
		for _, d := range []string{"mc-web", "mc-api"} {
			if got := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "deployment", d, "-o", "jsonpath={.status.readyReplicas}")); got != "1" {
				t.Errorf("%s readyReplicas = %q after the run", d, got)
			}
		}
		if got := env.Kubectl(t, "-n", ns, "get", "configmap", "mc-settings", "-o", "jsonpath={.data.mode}"); got != "multi" {
			t.Errorf("configmap mc-settings mode = %q", got)
		}
		port := devproc.FreePort(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		pf := env.Command(ctx, "kubectl", "-n", ns, "port-forward", "service/mc-web", fmt.Sprintf("%d:8080", port))
		if err := pf.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cancel(); _ = pf.Wait() }()
		if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); body != "hello from web; api says: api ok" {
			t.Errorf("web answered %q", body)
		}
		if del := testenv.RunDevloop(t, dir, nil, 3*time.Minute, "delete"); del.Code != 0 {
			t.Fatalf("devloop delete exited %d:\n%s", del.Code, testenv.Tail(del.Output(), 30))
		}
		if left := objects(); left != "" {
			t.Errorf("left after devloop delete: %s", left)
		}
	})
}

// A cycle of requires, a missing required file and an unknown module exit
// 2 naming the file and line, and nothing reaches the namespace.
func TestRunBadMultiConfigAppliesNothing(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "sk-multibad")
	for _, tc := range []struct {
		name, file, old, new string
		args                 []string
		want                 string
	}{
		{"cycle", "api/skaffold.yaml", "build:\n", "requires:\n- path: ..\nbuild:\n", nil,
			"api/skaffold.yaml:6:3: requires[0]: a cycle of requires"},
		{"missing required file", "skaffold.yaml", "- path: api\n", "- path: apj\n", nil,
			"skaffold.yaml:7:9: requires[0].path: apj does not exist"},
		{"unknown module", "", "", "", []string{"-m", "nope"},
			`--module nope: no configuration of skaffold.yaml or of those it requires is named "nope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyMultiConfig(t, ns)
			if tc.file != "" {
				testenv.Edit(t, filepath.Join(dir, tc.file), tc.old, tc.new)
			}
			r := testenv.RunDevloop(t, dir, nil, 2*time.Minute, append([]string{"run"}, tc.args...)...)
			if r.Code != 2 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("devloop run exited %d, want 2 with %q:\n%s", r.Code, tc.want, testenv.Tail(r.Output(), 20))
			}
			if strings.Contains(r.Output(), "panic") || strings.Contains(r.Output(), "goroutine ") {
				t.Errorf("devloop run panicked:\n%s", r.Output())
			}
		})
	}
	if left := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "deployments,services,pods", "-o", "name")); left != "" {
		t.Errorf("applied although the skaffold.yaml was bad:\n%s", left)
	}
}
