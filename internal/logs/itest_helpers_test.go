package logs

// Helpers of the real-environment tests; the same file lives in
// internal/logs and internal/sync (test helpers cannot be imported).

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

	"github.com/devloop-dev/devloop/internal/testenv"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// itestClient returns the cluster's rest config and client.
func itestClient(t *testing.T, env *testenv.Env) (*rest.Config, kubernetes.Interface) {
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

// echoImages builds testdata/echoapp into a Debian-based image (with tar)
// and a FROM scratch one (without), imports both into the cluster's
// containerd and returns their references. Tags are the binary's hash, so
// parallel tests share them.
func echoImages(t *testing.T, env *testenv.Env) (debian, scratch string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "portforward", "testdata", "echoapp")
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
		run(t, env.Command(ctx, "docker", "build", "-q", "-t", img, dir))
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

func imported(ctx context.Context, env *testenv.Env, img string) bool {
	out, err := env.Command(ctx, "ctr", "--address", env.ContainerdSocket, "-n", "k8s.io", "images", "ls", "-q").Output()
	return err == nil && strings.Contains(string(out), "docker.io/library/"+img+"\n")
}

func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

// apply applies a manifest with kubectl.
func apply(t *testing.T, env *testenv.Env, ns, manifest string) {
	t.Helper()
	cmd := env.Command(context.Background(), "kubectl", "-n", ns, "apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	run(t, cmd)
}
