package livesync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/devloop-dev/devloop/internal/testenv"
)

const syncManifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: %[2]s
        imagePullPolicy: IfNotPresent
`

func TestEnvSyncIntoRunningContainers(t *testing.T) {
	env := testenv.Require(t)
	cfg, client := env.Clients(t)
	debian, scratch := env.EchoImages(t)
	ns := env.Namespace(t, "sync")
	env.Apply(t, ns, fmt.Sprintf(syncManifest, "withtar", debian, 2))
	env.Apply(t, ns, fmt.Sprintf(syncManifest, "notar", scratch, 1))
	env.Kubectl(t, "-n", ns, "rollout", "status", "deployment/withtar", "--timeout=120s")
	env.Kubectl(t, "-n", ns, "rollout", "status", "deployment/notar", "--timeout=120s")

	s := New(cfg, client, zaptest.NewLogger(t))
	target := Target{Namespace: ns, Selector: labels.SelectorFromSet(labels.Set{"app": "withtar"}), Image: "devloop-itest-echo"}
	dir := t.TempDir()
	local := filepath.Join(dir, "hello.txt")
	pods := strings.Fields(env.Kubectl(t, "-n", ns, "get", "pods", "-l", "app=withtar", "-o", "jsonpath={.items[*].metadata.name}"))
	if len(pods) != 2 {
		t.Fatalf("pods %v", pods)
	}

	var times []time.Duration
	for i := range 10 {
		body := fmt.Sprintf("version %d\n", i)
		start := time.Now()
		if err := os.WriteFile(local, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := s.Sync(context.Background(), target, []File{{Local: local, Dest: "/code/app/hello.txt"}})
		took := time.Since(start)
		if err != nil {
			t.Fatalf("Sync: %v", err)
		}
		if res.Pods != 2 || res.Files != 1 || res.Bytes == 0 {
			t.Fatalf("result %+v", res)
		}
		times = append(times, took)
		for _, p := range pods {
			if got := env.Kubectl(t, "-n", ns, "exec", p, "--", "cat", "/code/app/hello.txt"); got != body {
				t.Fatalf("pod %s has %q, want %q", p, got, body)
			}
		}
	}
	slices.Sort(times)
	t.Logf("TIMING edit -> present in 2 pods (10 syncs): min %v median %v max %v",
		times[0].Round(time.Millisecond), times[len(times)/2].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))

	// Deletion.
	if _, err := s.Sync(context.Background(), target, []File{{Dest: "/code/app/hello.txt", Delete: true}}); err != nil {
		t.Fatalf("Sync delete: %v", err)
	}
	for _, p := range pods {
		if out, err := env.Command(context.Background(), "kubectl", "-n", ns, "exec", p, "--", "cat", "/code/app/hello.txt").CombinedOutput(); err == nil {
			t.Fatalf("pod %s still has the deleted file: %q", p, out)
		}
	}

	// An image without tar gets the clear error.
	_, err := s.Sync(context.Background(), Target{Namespace: ns, Selector: labels.SelectorFromSet(labels.Set{"app": "notar"}), Image: "devloop-itest-echo"},
		[]File{{Local: local, Dest: "/x.txt"}})
	if !errors.Is(err, ErrNoTar) {
		t.Fatalf("sync into a scratch image: %v, want ErrNoTar", err)
	}
	t.Logf("no-tar error: %v", err)
}
