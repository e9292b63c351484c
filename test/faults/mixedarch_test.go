package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/testenv"
)

// TestMixedArchCluster registers an arm64 node next to the test cluster's
// amd64 one (a Node object with a Ready status, tainted so that nothing is
// scheduled on it) and checks that devloop, with no platform configured,
// builds every artifact for both architectures as one manifest list pushed
// to the registry, referenced by digest. The node is seen by every
// test in the cluster, so this runs with the fault tests, one at a time.
func TestMixedArchCluster(t *testing.T) {
	env := requireFaults(t)
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
	web := filepath.Join(dir, "web", "version.go")
	src, err := os.ReadFile(web)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(web, []byte(strings.Replace(string(src), `"v1"`, `"`+name+`"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	node := "devloop-fake-arm64-" + name[len(name)-5:]
	env.Apply(t, "default", fmt.Sprintf(`apiVersion: v1
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
`, node))
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "kubectl", "delete", "node", node).Run()
	})
	now := time.Now().UTC().Format(time.RFC3339)
	env.Kubectl(t, "patch", "node", node, "--subresource=status", "--type=merge", "-p", fmt.Sprintf(
		`{"status":{"conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"fake","lastHeartbeatTime":%q,"lastTransitionTime":%q}],"nodeInfo":{"architecture":"arm64","operatingSystem":"linux","machineID":"","systemUUID":"","bootID":"","kernelVersion":"","osImage":"","containerRuntimeVersion":"","kubeletVersion":"","kubeProxyVersion":""}}}`,
		now, now))

	r := env.Devloop(t, dir, 15*time.Minute, "build", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop build exited %d:\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var webRef string
	platforms := 0
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var e events.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not an event: %q", line)
		}
		switch {
		case e.Phase == events.PhasePlatforms:
			platforms++
			if !strings.HasPrefix(e.Message, "linux/amd64,linux/arm64 ") || !strings.Contains(e.Message, "nodes") {
				t.Errorf("%s: platforms %q, want linux/amd64,linux/arm64 from the cluster's nodes", e.Artifact, e.Message)
			}
		case e.Phase == events.PhaseBuild && e.Status == events.StatusInfo:
			if !strings.Contains(e.Image, "@sha256:") || !strings.HasPrefix(e.Image, env.Registry+"/") {
				t.Errorf("%s: reference %q, want a digest in %s", e.Artifact, e.Image, env.Registry)
			}
			if e.Artifact == "notes-web" {
				webRef = e.Image
			}
		}
	}
	if platforms != 3 || webRef == "" {
		t.Fatalf("want platforms for 3 artifacts and a notes-web reference, got %d and %q:\n%s", platforms, webRef, r.Stdout)
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
