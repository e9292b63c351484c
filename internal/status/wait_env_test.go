package status

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

const image = "debian:bookworm-slim"

func envWaiter(t *testing.T, env *testenv.Env, opts WaiterOptions) *Waiter {
	t.Helper()
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: env.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: env.KubeContext}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	dyn := dynamic.NewForConfigOrDie(cfg)
	core := kubernetes.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))
	return NewWaiter(dyn, mapper, core, zaptest.NewLogger(t), opts)
}

// apply applies the manifests with kubectl and returns them as objects.
func apply(t *testing.T, env *testenv.Env, ns, docs string) []*unstructured.Unstructured {
	t.Helper()
	docs = strings.ReplaceAll(docs, "IMAGE", image)
	cmd := env.Command(context.Background(), "kubectl", "-n", ns, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(docs)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kubectl apply: %v\n%s", err, out)
	}
	var objs []*unstructured.Unstructured
	for _, d := range strings.Split(docs, "\n---\n") {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{Object: m}
		u.SetNamespace(ns)
		objs = append(objs, u)
	}
	return objs
}

func waitFor(t *testing.T, w *Waiter, objs []*unstructured.Unstructured, timeout time.Duration) (error, time.Duration) {
	start := time.Now()
	err := w.Wait(context.Background(), time.Now(), objs, timeout, func(s ObjectStatus) { t.Logf("%s: %s %s", s.Ref, s.Status, s.Message) })
	return err, time.Since(start)
}

func TestWaitReadyOnCluster(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "status-ok")
	w := envWaiter(t, env, WaiterOptions{})
	objs := apply(t, env, ns, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: web, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sleep, infinity]}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: db
          image: IMAGE
          imagePullPolicy: IfNotPresent
          command: [sh, -c, "echo hi > /data/x && sleep infinity"]
          volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Mi}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: ok}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: ok, image: IMAGE, imagePullPolicy: IfNotPresent, command: ["true"]}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: nightly, image: IMAGE, command: ["true"]}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data: {a: b}`)
	err, took := waitFor(t, w, objs, 3*time.Minute)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	t.Logf("ready after %s", took)
	if phase := env.Kubectl(t, "-n", ns, "get", "pvc", "data-db-0", "-o", "jsonpath={.status.phase}"); phase != "Bound" {
		t.Errorf("PVC %s", phase)
	}
}

func TestWaitFailsFastOnCluster(t *testing.T) {
	env := testenv.Require(t)
	cases := []struct {
		name    string
		docs    string
		reasons []string
		logLine string
		within  time.Duration
	}{
		{"crashloop", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: crash}
spec:
  selector: {matchLabels: {app: crash}}
  template:
    metadata: {labels: {app: crash}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: app, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sh, -c, "echo starting; echo fatal-config-missing; sleep 1; exit 3"]}]`,
			[]string{"CrashLoopBackOff", "Error"}, "fatal-config-missing", 15 * time.Second},
		{"imagepull", fmt.Sprintf(`
apiVersion: v1
kind: Pod
metadata: {name: nopull}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{name: app, image: "%s/devloop-missing-%d:v1", imagePullPolicy: Always}]`, env.Registry, time.Now().UnixNano()),
			[]string{"ErrImagePull", "ImagePullBackOff"}, "", 45 * time.Second},
		{"failedjob", `
apiVersion: batch/v1
kind: Job
metadata: {name: fails}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: job, image: IMAGE, imagePullPolicy: IfNotPresent, command: [sh, -c, "echo migration-broke; exit 1"]}]`,
			[]string{"JobFailed"}, "migration-broke", 60 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ns := env.Namespace(t, "status-"+c.name)
			w := envWaiter(t, env, WaiterOptions{})
			objs := apply(t, env, ns, c.docs)
			err, took := waitFor(t, w, objs, 2*time.Minute)
			var re *RolloutError
			if !errors.As(err, &re) {
				t.Fatalf("want a RolloutError, got %v", err)
			}
			t.Logf("failed after %s:\n%v", took, err)
			ok := false
			for _, r := range c.reasons {
				ok = ok || re.Reason == r
			}
			if !ok {
				t.Errorf("reason %s, want one of %v", re.Reason, c.reasons)
			}
			if c.logLine != "" && !strings.Contains(strings.Join(re.LogTail, "\n"), c.logLine) {
				t.Errorf("log tail %q lacks %q", re.LogTail, c.logLine)
			}
			if len(re.Events) == 0 {
				t.Errorf("no events")
			}
			if took > c.within {
				t.Errorf("took %s, want under %s", took, c.within)
			}
		})
	}
}
