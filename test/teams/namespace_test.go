package teams

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// sharedApp writes an app (a ConfigMap and a Deployment of the Debian base
// image) whose devloop.yaml deploys into the per-person namespace
// dev-${USER} with an image pull secret, and returns its directory.
func sharedApp(t *testing.T, name, cm string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "devloop.yaml", "apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: "+name+"\n"+
		"deploy:\n  kustomize:\n    path: k8s\n  namespace: dev-${USER}\n  imagePullSecrets: [team-registry]\n  statusTimeout: 2m\n")
	writeFile(t, dir, "k8s/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - app.yaml\n")
	writeFile(t, dir, "k8s/app.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: `+cm+`
data:
  owner: `+name+`
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: `+cm+`
spec:
  replicas: 1
  selector:
    matchLabels: {app: `+cm+`}
  template:
    metadata:
      labels: {app: `+cm+`}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: sleep
          image: debian:bookworm-slim
          command: ["sleep", "infinity"]
`)
	return dir
}

// TestPerPersonNamespace: on a shared cluster each person deploys into
// dev-${USER} (expanded from the environment, lower-cased), the pods
// reference the configured image pull secret whose content devloop never
// prints, and a second devloop config deploying into the same namespace is
// refused before it writes anything, naming the config already there and
// what to do.
func TestPerPersonNamespace(t *testing.T) {
	env := testenv.Require(t)
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e6)
	user := "Alice" + suffix // upper case on purpose: the namespace is lower-cased
	ns := "dev-alice" + suffix
	asUser := []string{"USER=" + user}
	env.Kubectl(t, "create", "namespace", ns) // the cluster admin's part on a shared cluster
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", ns, "--wait=false", "--ignore-not-found").Run()
	})
	password := "s3cret-" + suffix
	env.Kubectl(t, "-n", ns, "create", "secret", "docker-registry", "team-registry",
		"--docker-server="+env.Registry, "--docker-username=alice", "--docker-password="+password)

	first, second := "team-a-"+suffix, "team-b-"+suffix
	dirA, dirB := sharedApp(t, first, "app-a"), sharedApp(t, second, "app-b")
	t.Cleanup(func() { _ = devloop(t, dirA, asUser, 2*time.Minute, "delete") })

	r := devloop(t, dirA, asUser, time.Minute, "render")
	if r.Code != 0 {
		t.Fatalf("devloop render exited %d:\n%s", r.Code, tail(r.Output(), 20))
	}
	if !strings.Contains(r.Stdout, "namespace: "+ns+"\n") || !strings.Contains(r.Stdout, "name: team-registry") {
		t.Errorf("render does not put the objects in %s with the pull secret:\n%s", ns, r.Stdout)
	}

	r = devloop(t, dirA, asUser, 4*time.Minute, "run", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop run into %s exited %d:\n%s", ns, r.Code, tail(r.Output(), 30))
	}
	if got := env.Kubectl(t, "-n", ns, "get", "deployment", "app-a", "-o", "jsonpath={.spec.template.spec.imagePullSecrets[*].name}"); got != "team-registry" {
		t.Errorf("the Deployment's imagePullSecrets = %q, want team-registry", got)
	}
	if strings.Contains(r.Output(), password) {
		t.Errorf("devloop printed the pull secret's password")
	}

	// A second config into the same namespace: refused, nothing written.
	r = devloop(t, dirB, asUser, 2*time.Minute, "run", "-o", "json")
	out := r.Output()
	if r.Code != 1 {
		t.Fatalf("a second config into %s exited %d, want 1:\n%s", ns, r.Code, tail(out, 20))
	}
	for _, want := range []string{ns, first, second, "dev-${USER}", "devloop delete"} {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, tail(out, 20))
		}
	}
	for _, kind := range []string{"configmap", "deployment"} {
		if o, err := env.Command(context.Background(), "kubectl", "-n", ns, "get", kind, "app-b", "-o", "name").CombinedOutput(); err == nil {
			t.Errorf("the refused config wrote %s", strings.TrimSpace(string(o)))
		}
	}
	if o, err := env.Command(context.Background(), "kubectl", "-n", ns, "get", "configmap", "devloop-inventory-"+second, "-o", "name").CombinedOutput(); err == nil {
		t.Errorf("the refused config wrote its inventory %s", strings.TrimSpace(string(o)))
	}
	// Another person's namespace is free for the same second config.
	r = devloop(t, dirB, []string{"USER=Bob" + suffix}, time.Minute, "render")
	if r.Code != 0 || !strings.Contains(r.Stdout, "namespace: dev-bob"+suffix+"\n") {
		t.Errorf("render as another user: exit %d, want namespace dev-bob%s:\n%s", r.Code, suffix, tail(r.Output(), 10))
	}
}
