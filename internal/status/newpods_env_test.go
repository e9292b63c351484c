package status

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// rolloutDocs is a one-replica Deployment whose pods count as available only
// after being Ready for 10 s, so that the controller keeps the old
// ReplicaSet's pod that long after the new pod is Ready: the window in which
// `devloop dev` (NewPodsReady) and `devloop run` must differ.
const rolloutDocs = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  minReadySeconds: 10
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}, annotations: {version: "VERSION"}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: web
          image: IMAGE
          imagePullPolicy: IfNotPresent
          command: [sleep, infinity]
          readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}`

// TestWaitNewPodsReadyOnCluster rolls a real Deployment from one version to
// the next and waits for it with both rules at once: dev's must report ready
// once the new pod is Ready while the old ReplicaSet still runs its pod;
// run's must not report ready until the old ReplicaSet is scaled to zero.
func TestWaitNewPodsReadyOnCluster(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "status-newpods")
	objs := apply(t, env, ns, strings.ReplaceAll(rolloutDocs, "VERSION", "1"))
	if err, _ := waitFor(t, envWaiter(t, env, WaiterOptions{}), objs, 2*time.Minute); err != nil {
		t.Fatalf("version 1: %v", err)
	}
	oldHash := env.Kubectl(t, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.labels.pod-template-hash}")
	oldRS := "web-" + oldHash

	start := time.Now()
	objs = apply(t, env, ns, strings.ReplaceAll(rolloutDocs, "VERSION", "2"))
	type result struct {
		err  error
		took time.Duration
		// oldReplicas is the old ReplicaSet's spec.replicas read right after
		// the wait returned; newReady, whether the new pod was Ready then.
		oldReplicas, newReady string
	}
	read := func(args ...string) string {
		out, err := env.Command(context.Background(), "kubectl", append([]string{"-n", ns}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("(kubectl %s: %v: %s)", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	wait := func(opts WaiterOptions) <-chan result {
		ch := make(chan result, 1)
		w := envWaiter(t, env, opts)
		go func() {
			err, _ := waitFor(t, w, objs, 2*time.Minute)
			r := result{err: err, took: time.Since(start)}
			// Not env.Kubectl: it would call t.Fatal off the test's goroutine.
			r.oldReplicas = read("get", "rs", oldRS, "-o", "jsonpath={.spec.replicas}")
			r.newReady = read("get", "pods", "-l", "app=web,pod-template-hash!="+oldHash,
				"-o", `jsonpath={.items[*].status.conditions[?(@.type=="Ready")].status}`)
			ch <- r
		}()
		return ch
	}
	devCh, runCh := wait(WaiterOptions{NewPodsReady: true}), wait(WaiterOptions{})
	dev, run := <-devCh, <-runCh
	t.Logf("dev ready after %s (old ReplicaSet at %s replicas, new pod Ready=%s); run ready after %s (old ReplicaSet at %s)",
		dev.took, dev.oldReplicas, dev.newReady, run.took, run.oldReplicas)
	if dev.err != nil || run.err != nil {
		t.Fatalf("version 2: dev: %v; run: %v", dev.err, run.err)
	}
	if dev.newReady != "True" {
		t.Errorf("dev reported ready while the new pod's Ready was %q", dev.newReady)
	}
	if dev.oldReplicas != "1" {
		t.Errorf("dev reported ready only once the old ReplicaSet was at %q replicas: it waited for the scale-down", dev.oldReplicas)
	}
	if run.oldReplicas != "0" {
		t.Errorf("run reported ready while the old ReplicaSet was at %q replicas", run.oldReplicas)
	}
	if run.took < dev.took+5*time.Second {
		t.Errorf("run ready after %s, dev after %s: run did not wait out the new pod's 10 s to availability", run.took, dev.took)
	}
}
