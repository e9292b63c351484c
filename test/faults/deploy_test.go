package faults

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// deployOnly writes a devloop.yaml without artifacts and a kustomization of
// objects (YAML documents) into a temporary directory. With ns set, the
// kustomization puts every object into that namespace, created by the
// overlay. The objects and the namespace are removed when the test ends.
func deployOnly(t *testing.T, env *testenv.Env, ns, objects string) string {
	t.Helper()
	dir := t.TempDir()
	name := strings.ToLower(fmt.Sprintf("faults-%d", time.Now().UnixNano()%1e9))
	cfg := fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: %s
deploy:
  kustomize:
    path: k8s
  statusTimeout: 2m
`, name)
	kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
	res := "resources:\n  - objects.yaml\n"
	if ns != "" {
		kust += "namespace: " + ns + "\n"
		res += "  - namespace.yaml\n"
		write(t, filepath.Join(dir, "k8s", "namespace.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+ns+"\n")
	}
	write(t, filepath.Join(dir, "devloop.yaml"), cfg)
	write(t, filepath.Join(dir, "k8s", "kustomization.yaml"), kust+res)
	write(t, filepath.Join(dir, "k8s", "objects.yaml"), objects)
	t.Cleanup(func() { deleteAll(t, env, dir, ns) })
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func uniqueNS(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9)
}

// runOnce runs `devloop run -o json` in dir and returns its result, its
// events and how long it took.
func runOnce(t *testing.T, env *testenv.Env, dir string, timeout time.Duration) (testenv.Result, []devproc.Event, time.Duration) {
	t.Helper()
	start := time.Now()
	res := env.Devloop(t, dir, timeout, "run", "-o", "json")
	took := time.Since(start)
	var evs []devproc.Event
	for _, l := range strings.Split(res.Stdout, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		e, ok := devproc.ParseEvent(l)
		if ok {
			evs = append(evs, e)
		}
	}
	return res, evs, took
}

// failureText is everything devloop said about failing: failed events and
// stderr.
func failureText(res testenv.Result, evs []devproc.Event) string {
	var b strings.Builder
	for _, e := range evs {
		if e.Status == "failed" {
			b.WriteString(e.String() + "\n")
		}
	}
	b.WriteString(res.Stderr)
	return b.String()
}

// TestDeployFailuresReported deploys, without building anything, workloads
// that cannot become ready; `devloop run` must exit 1 with the reason within
// 60 s, long before its 2 m status timeout.
func TestDeployFailuresReported(t *testing.T) {
	env := requireFaults(t)
	cases := []struct {
		name    string
		objects string
		want    []string // each must appear (case-insensitive) in what devloop said
	}{
		{
			name: "image cannot be pulled",
			objects: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nopull
spec:
  replicas: 1
  selector:
    matchLabels: {app: nopull}
  template:
    metadata:
      labels: {app: nopull}
    spec:
      containers:
        - name: app
          image: docker.io/library/does-not-exist:1
`,
			want: []string{"nopull", "does-not-exist:1", "pull"},
		},
		{
			name: "job fails",
			objects: `apiVersion: batch/v1
kind: Job
metadata:
  name: fails
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: app
          image: debian:bookworm-slim
          command: ["false"]
`,
			want: []string{"job", "fails"},
		},
		{
			name: "claim cannot bind",
			objects: `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: nobind
spec:
  accessModes: ["ReadWriteOnce"]
  storageClassName: none-such
  resources:
    requests:
      storage: 10Mi
`,
			want: []string{"nobind", "none-such"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := uniqueNS("faults-deploy")
			dir := deployOnly(t, env, ns, tc.objects)
			res, evs, took := runOnce(t, env, dir, 3*time.Minute)
			said := failureText(res, evs)
			t.Logf("devloop run exited %d after %s; said:\n%s", res.Code, took.Round(time.Millisecond), said)
			if res.Code != 1 {
				t.Errorf("exit code %d, want 1", res.Code)
			}
			if took > 60*time.Second {
				t.Errorf("took %s to report the failure, want at most 60s", took.Round(time.Second))
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(said), strings.ToLower(w)) {
					t.Errorf("the failure does not mention %q", w)
				}
			}
		})
	}
}

// TestMissingNamespace applies an object into a namespace that does not
// exist (no kustomize namespace override): the error must name the object
// and the namespace.
func TestMissingNamespace(t *testing.T) {
	env := requireFaults(t)
	missing := uniqueNS("does-not-exist")
	dir := deployOnly(t, env, "", fmt.Sprintf(`apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan
  namespace: %s
data:
  a: b
`, missing))
	res, evs, took := runOnce(t, env, dir, 2*time.Minute)
	said := failureText(res, evs)
	t.Logf("devloop run exited %d after %s; said:\n%s", res.Code, took.Round(time.Millisecond), said)
	if res.Code != 1 && res.Code != 2 {
		t.Errorf("exit code %d, want 1 (apply failed) or 2", res.Code)
	}
	for _, w := range []string{"orphan", missing} {
		if !strings.Contains(said, w) {
			t.Errorf("the error does not name %q", w)
		}
	}
}

// TestInvalidManifest gives a Deployment of a notes copy's base a field of
// the wrong type: `devloop run` must fail naming the object, and every
// object of that cycle left in the cluster must have been reported as
// applied.
func TestInvalidManifest(t *testing.T) {
	env := requireFaults(t)
	dir, ns, _ := notesCopy(t, env)
	devproc.Replace(t, filepath.Join(dir, "k8s", "base", "web.yaml"), `(?m)^(\s+)replicas: 1$`, `${1}replicas: many`)
	res, evs, took := runOnce(t, env, dir, 8*time.Minute)
	said := failureText(res, evs)
	t.Logf("devloop run exited %d after %s; said:\n%s", res.Code, took.Round(time.Millisecond), said)
	if res.Code != 1 && res.Code != 2 {
		t.Fatalf("exit code %d, want 1 (apply) or 2 (render)", res.Code)
	}
	if !strings.Contains(said, "notes-web") || !strings.Contains(strings.ToLower(said), "deployment") {
		t.Errorf("the error does not name Deployment notes-web")
	}
	// What is in the cluster now must have been reported.
	reported := map[string]bool{}
	for _, e := range evs {
		if e.Phase == "apply" && e.Object != "" {
			reported[strings.ToLower(e.Object)] = true
		}
	}
	all := strings.ToLower(res.Stdout + res.Stderr)
	for _, obj := range liveObjects(t, env, ns) {
		kind, name, _ := strings.Cut(obj, "/") // e.g. deployment.apps/notes-web
		if kind == "persistentvolumeclaim" {
			continue // made by the StatefulSet controller from the claim template
		}
		if kind == "configmap" && strings.HasPrefix(name, "devloop-inventory-") {
			continue // devloop's own record of what it applied, in the app's namespace
		}
		kind, _, _ = strings.Cut(kind, ".")
		key := kind + "/" + ns + "/" + name
		if !reported[key] && !strings.Contains(all, name) {
			t.Errorf("%s is in the cluster after the failed run but devloop did not say it applied it", obj)
		}
	}
	t.Logf("left in %s: %v; reported applied: %v", ns, liveObjects(t, env, ns), reported)
}
