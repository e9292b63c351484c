package faults

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// TestNodeRestart deploys examples/notes, restarts the node under it as a
// reboot does (every container killed, the runtime started anew), and then,
// with nothing deleted, `devloop run` on the unchanged project must exit 0
// with every object ready, and `devloop dev` must serve the page. The pods'
// restart counts and last exit codes show the node's restart reached them:
// a rollout check that judged the pods' past failed exactly there.
func TestNodeRestart(t *testing.T) {
	env := requireFaults(t)
	t.Run("test cluster", func(t *testing.T) {
		restoreOnCleanup(t, "_kc_containerd_up && _kc_bridge && _kc_node_up", "cluster.sh")
		nodeRestart(t, env, nil, func(t *testing.T) {
			mustEnvShell(t, 5*time.Minute, "cluster_node_restart", "cluster.sh")
		})
	})
	t.Run("kind", func(t *testing.T) {
		env := testenv.RequireKind(t)
		node := env.KindCluster + "-control-plane"
		nodeRestart(t, env, []string{"--kube-context", env.KindContext}, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			if out, err := env.Command(ctx, "docker", "restart", node).CombinedOutput(); err != nil {
				t.Fatalf("docker restart %s: %v\n%s", node, err, out)
			}
			waitNodeReady(t, env, env.KindContext, 3*time.Minute)
		})
	})
}

// nodeRestart runs the scenario on the cluster that kube (extra global
// flags, e.g. a kube context) names; restart restarts its node.
func nodeRestart(t *testing.T, env *testenv.Env, kube []string, restart func(t *testing.T)) {
	dir, ns := testenv.CopyExample(t, "notes")
	port := devproc.FreePort(t)
	devproc.SetLocalPort(t, dir, port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	kubectl := func(args ...string) (string, error) {
		if len(kube) > 0 {
			args = append([]string{"--context", kube[1]}, args...)
		}
		out, err := env.Command(t.Context(), "kubectl", args...).CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, testenv.Binary(t), append(append([]string{}, kube...), "delete", "--data", "--wait=false")...)
		cmd.Dir = dir
		cmd.Env = os.Environ()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("cleanup: devloop delete --data: %v\n%s", err, out)
		}
		_, _ = kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found")
	})
	run := func(what string) {
		t.Helper()
		r := env.Devloop(t, dir, 10*time.Minute, append(append([]string{}, kube...), "run", "-o", "json")...)
		evs, err := devproc.ParseEvents(r.Stdout)
		if err != nil {
			t.Fatal(err)
		}
		if r.Code != 0 {
			t.Fatalf("%s: devloop run exited %d\n%s\nstderr:\n%s", what, r.Code, failureText(r, evs), testenv.Tail(r.Stderr, 30))
		}
		ready := false
		for _, e := range evs {
			ready = ready || (e.Phase == "status" && e.Status == "done")
		}
		if !ready {
			t.Fatalf("%s: devloop run exited 0 without reporting the objects ready:\n%s", what, r.Stdout)
		}
	}
	run("first deploy")

	restarted := time.Now()
	restart(t)
	t.Logf("node restarted and Ready in %s", time.Since(restarted).Round(time.Second))
	// The kubelet restarts the pods after the node is back: wait until the
	// store's container shows it, a restart with a non-zero last exit.
	var pods string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		out, err := kubectl("-n", ns, "get", "pods", "-l", "app.kubernetes.io/name=notes-store", "-o",
			`jsonpath={range .items[*]}{.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.exitCode} {.status.containerStatuses[0].lastState.terminated.reason}{"\n"}{end}`)
		pods = strings.TrimSpace(out)
		if f := strings.Fields(pods); err == nil && len(f) >= 2 {
			if n, _ := strconv.Atoi(f[0]); n >= 1 && f[1] != "0" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("notes-store shows no restart after the node's (restarts, last exit, reason: %q, err %v)", pods, err)
		}
		time.Sleep(time.Second)
	}
	t.Logf("notes-store after the node restart: restarts, last exit, reason: %s", pods)

	run("after the node restart")
	p := devproc.Start(t, testenv.Binary(t), dir, append([]string{"dev", "-o", "json"}, kube...)...)
	_, next := p.Next(t, 0, 6*time.Minute, "the first cycle", func(e devproc.Event) bool {
		return e.Phase == "cycle" && e.Status != "start"
	})
	if last := p.Events()[next-1]; last.Status != "done" {
		t.Fatalf("devloop dev after the node restart: first cycle %s\n%s", last, p.Tail(40))
	}
	if _, err := devproc.WaitBody(url+"/version", version(t, dir), 60*time.Second); err != nil {
		t.Fatalf("devloop dev after the node restart: %v\n%s", err, p.Tail(40))
	}
}

// waitNodeReady waits for the context's only node to be Ready.
func waitNodeReady(t *testing.T, env *testenv.Env, kubeContext string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, err := env.Command(t.Context(), "kubectl", "--context", kubeContext, "--request-timeout=3s", "get", "nodes",
			"-o", `jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}`).Output()
		if err == nil && strings.TrimSpace(string(out)) == "True" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node of %s not Ready %s after its restart: %s %v", kubeContext, within, out, err)
		}
		time.Sleep(time.Second)
	}
}
