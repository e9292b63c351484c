package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"go.uber.org/zap/zaptest"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

func restConfig(t *testing.T, env *testenv.Env) *rest.Config {
	t.Helper()
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: env.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: env.KubeContext}).ClientConfig()
	if err != nil {
		t.Fatalf("kubeconfig: %v", err)
	}
	return cfg
}

func parse(t *testing.T, ns, docs string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(strings.ReplaceAll(d, "NS", ns)), &m); err != nil {
			t.Fatalf("parsing %s: %v", d, err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

const appYAML = `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: NS}
data: {MODE: dev}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: NS}
stringData: {password: hunter2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - {name: web, image: app-image, imagePullPolicy: IfNotPresent, command: [sleep, infinity]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: NS}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 0
      containers:
        - {name: once, image: app-image, imagePullPolicy: IfNotPresent, command: [sh, -c, "echo JOBV1"]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: NS}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Mi}}
`

func actions(r ApplyResult) map[string]Action {
	m := map[string]Action{}
	for _, o := range r.Objects {
		m[o.Ref.Kind] = o.Action
	}
	return m
}

func TestApplyPruneDeleteOnCluster(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "deploy")
	config := "it-" + ns
	ctx := context.Background()
	a, err := NewApplierForConfig(restConfig(t, env), zaptest.NewLogger(t), ApplierOptions{InventoryNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	render := func(docs string) []*unstructured.Unstructured {
		objs := parse(t, ns, docs)
		if err := Transform(objs, RenderOptions{ConfigName: config, Images: map[string]string{"app-image": "debian:bookworm-slim"}}); err != nil {
			t.Fatal(err)
		}
		return objs
	}
	t.Cleanup(func() { _, _ = a.Delete(context.Background(), config, DeleteOptions{}) })

	objs := render(appYAML)
	res, err := a.Apply(ctx, objs, ApplyOptions{})
	if err != nil {
		t.Fatalf("first apply: %v", err)
	}
	for kind, act := range actions(res) {
		if act != ActionCreated {
			t.Errorf("first apply: %s %s, want created", kind, act)
		}
	}
	if res.Writes != len(objs)+1 { // + the inventory
		t.Errorf("first apply: %d writes, want %d", res.Writes, len(objs)+1)
	}
	t.Logf("first apply (%d objects): %s", len(objs), res.Duration)

	// Nothing changed: nothing written.
	var noop []time.Duration
	for range 5 {
		res, err = a.Apply(ctx, render(appYAML), ApplyOptions{})
		if err != nil {
			t.Fatalf("no-op apply: %v", err)
		}
		if res.Writes != 0 || res.Changed() {
			t.Fatalf("no-op apply wrote %d times: %v", res.Writes, res.Objects)
		}
		noop = append(noop, res.Duration)
	}
	t.Logf("no-op apply durations: %v", noop)
	// A fresh process (no inventory cached) also writes nothing.
	fresh, err := NewApplierForConfig(restConfig(t, env), zaptest.NewLogger(t), ApplierOptions{InventoryNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if res, err = fresh.Apply(ctx, render(appYAML), ApplyOptions{}); err != nil || res.Writes != 0 {
		t.Fatalf("no-op apply from a fresh applier: %d writes, %v", res.Writes, err)
	}

	// A ConfigMap change writes only that object.
	res, err = a.Apply(ctx, render(strings.Replace(appYAML, "MODE: dev", "MODE: prod", 1)), ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 1 || actions(res)["ConfigMap"] != ActionConfigured || actions(res)["Deployment"] != ActionUnchanged {
		t.Fatalf("ConfigMap change: %d writes, %v", res.Writes, res.Objects)
	}
	live := env.Kubectl(t, "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.MODE}")
	if live != "prod" {
		t.Fatalf("ConfigMap on the server: %q", live)
	}
	current := strings.Replace(appYAML, "MODE: dev", "MODE: prod", 1)

	// The Job completes; applying it unchanged leaves it alone.
	env.Kubectl(t, "-n", ns, "wait", "--for=condition=complete", "job/once", "--timeout=90s")
	uid1 := env.Kubectl(t, "-n", ns, "get", "job", "once", "-o", "jsonpath={.metadata.uid}")
	if res, err = a.Apply(ctx, render(current), ApplyOptions{}); err != nil || res.Writes != 0 {
		t.Fatalf("completed Job re-applied: %d writes, %v", res.Writes, err)
	}
	// A changed pod template recreates it.
	current = strings.Replace(current, "JOBV1", "JOBV2", 1)
	res, err = a.Apply(ctx, render(current), ApplyOptions{})
	if err != nil {
		t.Fatalf("changed Job: %v", err)
	}
	if actions(res)["Job"] != ActionRecreated {
		t.Fatalf("changed Job: %v", res.Objects)
	}
	if uid2 := env.Kubectl(t, "-n", ns, "get", "job", "once", "-o", "jsonpath={.metadata.uid}"); uid2 == uid1 {
		t.Fatalf("Job not recreated (same uid)")
	}

	// An immutable change fails with the field and --force, and Force recreates.
	changedSel := strings.NewReplacer("matchLabels: {app: web}", "matchLabels: {app: web2}", "labels: {app: web}", "labels: {app: web2}").Replace(current)
	_, err = a.Apply(ctx, render(changedSel), ApplyOptions{})
	var oe *ObjectError
	if !errors.As(err, &oe) || len(oe.Fields) == 0 || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "Deployment/"+ns+"/web") {
		t.Fatalf("immutable selector change: %v", err)
	}
	t.Logf("immutable error: %v", err)
	res, err = a.Apply(ctx, render(changedSel), ApplyOptions{Force: true})
	if err != nil || actions(res)["Deployment"] != ActionRecreated {
		t.Fatalf("forced: %v %v", res.Objects, err)
	}
	current = changedSel

	// Prune: drop the ConfigMap from the manifests.
	var withoutCM []*unstructured.Unstructured
	for _, o := range render(current) {
		if o.GetKind() != "ConfigMap" {
			withoutCM = append(withoutCM, o)
		}
	}
	if _, err := a.Apply(ctx, withoutCM, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	keep := make([]ObjectRef, len(withoutCM))
	for i, o := range withoutCM {
		keep[i] = RefOf(o)
	}
	start := time.Now()
	pruned, err := a.Prune(ctx, config, keep)
	if err != nil {
		t.Fatal(err)
	}
	if len(pruned) != 1 || pruned[0].Kind != "ConfigMap" {
		t.Fatalf("pruned %v, want only the ConfigMap", pruned)
	}
	t.Logf("prune: %s", time.Since(start))
	if out, _ := env.Command(ctx, "kubectl", "-n", ns, "get", "configmap", "settings").CombinedOutput(); !strings.Contains(string(out), "NotFound") {
		t.Fatalf("ConfigMap still there: %s", out)
	}
	if again, err := a.Prune(ctx, config, keep); err != nil || len(again) != 0 {
		t.Fatalf("second prune: %v %v", again, err)
	}
	// An unlabelled object of the same kind is never touched.
	env.Kubectl(t, "-n", ns, "create", "configmap", "foreign")

	// A missing namespace is named.
	_, err = a.Apply(ctx, render(`
apiVersion: v1
kind: ConfigMap
metadata: {name: lost, namespace: NS-missing}
`), ApplyOptions{})
	if !errors.As(err, &oe) || oe.MissingNamespace != ns+"-missing" {
		t.Fatalf("missing namespace: %v", err)
	}
	t.Logf("missing namespace error: %v", err)

	// Delete from a fresh process keeps the PVC unless asked.
	del, err := fresh.Delete(ctx, config, DeleteOptions{KeepPVCs: true, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	kinds := func(refs []ObjectRef) string {
		var s []string
		for _, r := range refs {
			s = append(s, r.Kind)
		}
		return strings.Join(s, ",")
	}
	if kinds(del.Kept) != "PersistentVolumeClaim" || kinds(del.Deleted) != "Secret,Deployment,Job" {
		t.Fatalf("delete: deleted %v kept %v", del.Deleted, del.Kept)
	}
	if _, err := a.dyn.Resource(configMapGVR).Namespace(ns).Get(ctx, "foreign", metav1.GetOptions{}); err != nil {
		t.Fatalf("an unlabelled ConfigMap was touched: %v", err)
	}
	if _, err := a.dyn.Resource(configMapGVR).Namespace(ns).Get(ctx, InventoryName(config), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("inventory not deleted: %v", err)
	}
	del, err = a.Delete(ctx, config, DeleteOptions{Wait: true})
	if err != nil || kinds(del.Deleted) != "PersistentVolumeClaim" {
		t.Fatalf("delete with PVCs: %v %v", del, err)
	}
}
