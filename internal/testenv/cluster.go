package testenv

// Helpers of the real-environment tests of the packages that talk to pods
// (logs, port-forward, sync).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Clients returns the cluster's rest config and clientset.
func (env *Env) Clients(t testing.TB) (*rest.Config, kubernetes.Interface) {
	t.Helper()
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: env.Kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: env.KubeContext}).ClientConfig()
	if err != nil {
		t.Fatalf("loading %s: %v", env.Kubeconfig, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, cs
}

// EchoImages builds testdata/echoapp (an HTTP server that logs a numbered
// line every 100 ms) into a Debian-based image (with tar)
// and a FROM scratch one (without), imports both into the cluster's
// containerd and returns their references. Tags are the binary's hash, so
// parallel tests share them.
func (env *Env) EchoImages(t testing.TB) (debian, scratch string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "testdata", "echoapp")
	dir := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, "app"), ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building echoapp: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(filepath.Join(dir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	tag := hex.EncodeToString(sum[:])[:12]
	debian = "devloop-itest-echo:deb-" + tag
	scratch = "devloop-itest-echo:scratch-" + tag
	for img, base := range map[string]string{debian: "debian:bookworm-slim", scratch: "scratch"} {
		if imported(ctx, env, img) {
			continue
		}
		df := "FROM " + base + "\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		MustRun(t, env.Command(ctx, "docker", "build", "-q", "-t", img, dir))
		save := env.Command(ctx, "docker", "save", img)
		imp := env.Command(ctx, "ctr", "--address", env.ContainerdSocket, "-n", "k8s.io", "images", "import", "-")
		pipe, err := save.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		imp.Stdin = pipe
		var stderr, impErr bytes.Buffer
		save.Stderr, imp.Stderr = &stderr, &impErr
		if err := save.Start(); err != nil {
			t.Fatal(err)
		}
		if out, err := imp.Output(); err != nil {
			t.Fatalf("importing %s: %v\n%s%s", img, err, out, impErr.String())
		}
		if err := save.Wait(); err != nil {
			t.Fatalf("docker save %s: %v\n%s", img, err, stderr.String())
		}
	}
	return debian, scratch
}

func imported(ctx context.Context, env *Env, img string) bool {
	out, err := env.Command(ctx, "ctr", "--address", env.ContainerdSocket, "-n", "k8s.io", "images", "ls", "-q").Output()
	return err == nil && strings.Contains(string(out), "docker.io/library/"+img+"\n")
}

// MustRun runs cmd and returns its combined output; the test fails if it fails.
func MustRun(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

// Apply applies a manifest with kubectl in namespace ns.
func (env *Env) Apply(t testing.TB, ns, manifest string) {
	t.Helper()
	cmd := env.Command(context.Background(), "kubectl", "-n", ns, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	MustRun(t, cmd)
}
