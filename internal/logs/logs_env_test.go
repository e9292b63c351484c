package logs

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/labels"
)

// safeBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

const logManifest = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: talk
  labels: {app.kubernetes.io/managed-by: devloop, devloop.dev/config: %[1]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: talk}}
  template:
    metadata:
      labels: {app: talk, app.kubernetes.io/managed-by: devloop, devloop.dev/config: %[1]s}
    spec:
      terminationGracePeriodSeconds: 1
      initContainers:
      - name: init
        image: %[2]s
        imagePullPolicy: IfNotPresent
        args: ["-mode", "init"]
      containers:
      - name: app
        image: %[2]s
        imagePullPolicy: IfNotPresent
`

func waitFor(t *testing.T, out *safeBuffer, what string, re *regexp.Regexp, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if len(re.FindAllString(out.String(), -1)) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s within %v; output:\n%s", what, within, out.String())
}

func TestEnvLogsFollowInitRestartsAndReplacements(t *testing.T) {
	env := testenv.Require(t)
	_, client := env.Clients(t)
	img, _ := env.EchoImages(t)
	ns := env.Namespace(t, "logs")
	config := "cfg-" + ns

	ctx, cancel := context.WithCancel(context.Background())
	out := &safeBuffer{}
	done := make(chan error, 1)
	sel := labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": "devloop", "devloop.dev/config": config})
	go func() {
		done <- New(client, zaptest.NewLogger(t)).Run(ctx, Options{Namespaces: []string{ns}, Selector: sel}, out)
	}()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	}()

	applied := time.Now()
	env.Apply(t, ns, fmt.Sprintf(logManifest, config, img))
	waitFor(t, out, "init lines", regexp.MustCompile(`(?m)^talk-\S+/init \| init \w+ \d$`), 3, 90*time.Second)
	waitFor(t, out, "app lines", regexp.MustCompile(`(?m)^talk-\S+/app \| tick \w+ \d+$`), 1, 30*time.Second)
	t.Logf("TIMING apply -> first app line: %v", time.Since(applied).Round(time.Millisecond))
	waitFor(t, out, "ticks", regexp.MustCompile(`(?m)^talk-\S+/app \| tick `), 10, 30*time.Second)

	// Restart the container (new containerID, same pod).
	pod := strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", "pods", "-l", "app=talk", "-o", "jsonpath={.items[0].metadata.name}"))
	env.Kubectl(t, "-n", ns, "exec", pod, "-c", "app", "--", "/app", "-mode", "kill")
	waitFor(t, out, "the restarted container's start", regexp.MustCompile(`(?m)^talk-\S+/app \| started `), 2, 60*time.Second)
	waitFor(t, out, "the exit line", regexp.MustCompile(`(?m)/app \| exiting \w+$`), 1, 5*time.Second)

	// Replace the pod: its successor is followed too.
	env.Kubectl(t, "-n", ns, "delete", "pod", pod, "--wait=false")
	waitFor(t, out, "a replacement pod's start", regexp.MustCompile(`(?m)^talk-\S+/app \| started `), 3, 60*time.Second)
	waitFor(t, out, "a replacement pod's init", regexp.MustCompile(`(?m)^talk-\S+/init \| init \w+ \d$`), 6, 5*time.Second)
	time.Sleep(time.Second)
	text := out.String()

	seen := map[string]int{}
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if !regexp.MustCompile(`^talk-[a-z0-9-]+/(init|app) \| `).MatchString(l) {
			t.Errorf("line without its pod/container prefix: %q", l)
		}
		seen[l]++
	}
	for l, n := range seen {
		if n > 1 {
			t.Errorf("line repeated %d times: %q", n, l)
		}
	}
	// Each run's ticks are complete: 1..N without gaps.
	ticks := map[string][]int{}
	for _, m := range regexp.MustCompile(`(?m)/app \| tick (\w+) (\d+)$`).FindAllStringSubmatch(text, -1) {
		var n int
		_, _ = fmt.Sscan(m[2], &n) // \d+ always scans
		ticks[m[1]] = append(ticks[m[1]], n)
	}
	if len(ticks) < 3 {
		t.Errorf("ticks of %d runs, want 3 (first, restarted, replacement)", len(ticks))
	}
	for run, ns := range ticks {
		for i, n := range ns {
			if n != i+1 {
				t.Errorf("run %s: tick %d at position %d (lost or reordered lines)", run, n, i+1)
				break
			}
		}
	}
	t.Logf("%d lines, %d distinct runs", len(seen), len(ticks))
}
