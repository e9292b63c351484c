package runtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// TestMixedArchCluster registers an arm64 node next to the test cluster's
// amd64 one (a Node object with a Ready status, tainted so that nothing is
// scheduled on it) and checks that devloop, with no platform configured,
// builds every artifact for both architectures as one manifest list pushed
// to the registry and deployed by digest (issue 5).
func TestMixedArchCluster(t *testing.T) {
	env := testenv.Require(t)
	if env.MultiBuilder == "" {
		t.Fatal("DEVLOOP_BUILDER_MULTI is not set: the environment has no multi-platform builder")
	}
	dir, name := testenv.CopyExample(t, "notes")
	cfg := filepath.Join(dir, "devloop.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "build:\n", "build:\n  builder: "+env.MultiBuilder+"\n", 1)
	s += "registry: " + env.Registry + "\n"
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	// Unique content, so the build really runs.
	edit(t, dir, "web/version.go", `"v1"`, `"`+name+`"`)

	node := "devloop-fake-arm64-" + name[len(name)-5:]
	manifest := fmt.Sprintf(`apiVersion: v1
kind: Node
metadata:
  name: %s
  labels:
    kubernetes.io/arch: arm64
    kubernetes.io/os: linux
spec:
  taints:
    - key: devloop.dev/fake-node
      effect: NoSchedule
    - key: devloop.dev/fake-node
      effect: NoExecute
`, node)
	env.Apply(t, "default", manifest)
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "delete", "node", node, "--wait=false").Run()
	})
	now := time.Now().UTC().Format(time.RFC3339)
	status := fmt.Sprintf(`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"fake","lastHeartbeatTime":%q,"lastTransitionTime":%q}],"nodeInfo":{"architecture":"arm64","operatingSystem":"linux","machineID":"","systemUUID":"","bootID":"","kernelVersion":"","osImage":"","containerRuntimeVersion":"","kubeletVersion":"","kubeProxyVersion":""}}}`, now, now)
	env.Kubectl(t, "patch", "node", node, "--subresource=status", "--type=merge", "-p", status)

	r := devloop(t, dir, nil, 15*time.Minute, "build", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop build exited %d:\n%s", r.Code, tail(r.output(), 60))
	}
	evs := parseEvents(t, r.Stdout)
	for _, e := range filter(evs, "platforms", "info") {
		if !strings.HasPrefix(e.Message, "linux/amd64,linux/arm64 ") || !strings.Contains(e.Message, "nodes") {
			t.Errorf("%s: platforms %q, want linux/amd64,linux/arm64 from the cluster's nodes", e.Artifact, e.Message)
		}
	}
	var webRef string
	for _, e := range filter(evs, "build", "info") {
		if !strings.Contains(e.Image, "@sha256:") || !strings.HasPrefix(e.Image, env.Registry+"/") {
			t.Errorf("%s: reference %q, want a digest in %s", e.Artifact, e.Image, env.Registry)
		}
		if e.Artifact == "notes-web" {
			webRef = e.Image
		}
	}
	if webRef == "" {
		t.Fatalf("no reference printed for notes-web:%s", dump(evs))
	}
	out, err := env.Command(context.Background(), "docker", "buildx", "imagetools", "inspect", webRef).CombinedOutput()
	if err != nil {
		t.Fatalf("imagetools inspect %s: %v\n%s", webRef, err, out)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if !strings.Contains(string(out), p) {
			t.Errorf("the index of %s lacks %s:\n%s", webRef, p, out)
		}
	}
}
