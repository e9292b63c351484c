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

// copyProfiles copies testdata/profiles with its objects in ns and its
// configuration named ns.
func copyProfiles(t *testing.T, ns string) string {
	t.Helper()
	dir := copyTree(t, "profiles")
	testenv.Edit(t, filepath.Join(dir, "skaffold.yaml"), "name: profiles", "name: "+ns)
	for _, k := range []string{"k8s", "extra"} {
		inNamespace(t, filepath.Join(dir, k, "kustomization.yaml"), ns)
	}
	return dir
}

// Skaffold profiles on the real cluster: -p shout patches the artifact's
// build arg (the pod answers with it), the extra profile, activated by the
// environment, adds a kustomize path; delete removes both.
func TestRunSkaffoldProfiles(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "sk-prof")
	dir := copyProfiles(t, ns)
	vars := []string{"DEVLOOP_E2E_EXTRA=on"}
	t.Cleanup(func() { _ = testenv.RunDevloop(t, dir, vars, 3*time.Minute, "delete", "-p", "shout") })

	run := testenv.RunDevloop(t, dir, vars, 10*time.Minute, "run", "-p", "shout")
	if run.Code != 0 {
		t.Fatalf("devloop run -p shout exited %d:\n%s", run.Code, testenv.Tail(run.Output(), 40))
	}
	for _, want := range []string{"profile extra active: activation: env DEVLOOP_E2E_EXTRA=on", "profile shout active: selected with --profile"} {
		if !strings.Contains(run.Output(), want) {
			t.Errorf("devloop run does not say %q:\n%s", want, testenv.Tail(run.Output(), 40))
		}
	}
	if got := env.Kubectl(t, "-n", ns, "get", "configmap", "pf-extra", "-o", "jsonpath={.data.from}"); got != "a profile" {
		t.Errorf("configmap pf-extra from = %q", got)
	}
	port := devproc.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pf := env.Command(ctx, "kubectl", "-n", ns, "port-forward", "service/pf-app", fmt.Sprintf("%d:8080", port))
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = pf.Wait() }()
	if body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); body != "HELLO FROM A PROFILE" {
		t.Errorf("the app answered %q, want the patched build arg", body)
	}

	if del := testenv.RunDevloop(t, dir, vars, 3*time.Minute, "delete", "-p", "shout"); del.Code != 0 {
		t.Fatalf("devloop delete exited %d:\n%s", del.Code, testenv.Tail(del.Output(), 30))
	}
	if left := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "deployments,services", "-o", "name")); left != "" {
		t.Errorf("left after devloop delete:\n%s", left)
	}
	if _, err := env.Command(context.Background(), "kubectl", "-n", ns, "get", "configmap", "pf-extra").CombinedOutput(); err == nil {
		t.Error("configmap pf-extra left after devloop delete")
	}
}

// An unknown profile and a patch whose path does not exist exit 2 naming
// them, and nothing reaches the namespace.
func TestRunBadSkaffoldProfileAppliesNothing(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "sk-profbad")
	for _, tc := range []struct {
		name, old, new string
		args           []string
		want           string
	}{
		{"unknown profile", "", "", []string{"-p", "nope"}, `unknown profile "nope"; declared profiles: extra, shout`},
		{"bad patch path", "/build/artifacts/0/docker", "/build/artifacts/1/docker", []string{"-p", "shout"},
			"skaffold.yaml:25:11: profiles[0].patches[0].path: /build/artifacts/1/docker/buildArgs/GREETING: /build/artifacts/1 does not exist (the list has 1 items)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyProfiles(t, ns)
			if tc.old != "" {
				testenv.Edit(t, filepath.Join(dir, "skaffold.yaml"), tc.old, tc.new)
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
	if left := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "deployments,services,configmaps", "-o", "name")); left != "configmap/kube-root-ca.crt" && left != "" {
		t.Errorf("applied although the skaffold.yaml was bad:\n%s", left)
	}
}
