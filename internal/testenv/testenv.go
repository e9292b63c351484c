// Package testenv gives integration and end-to-end tests the real local
// environment that `make env-up` starts (Docker Engine, buildx, BuildKit, a
// registry and a single-node Kubernetes cluster).
//
// Tests call Require. With `go test -short` they are skipped with a reason;
// otherwise a missing environment fails the test with the command that fixes
// it, so that a broken environment never passes silently.
package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Env describes the running environment, read from the variables that
// `eval "$(make -s env)"` exports.
type Env struct {
	DockerHost       string // DOCKER_HOST, e.g. unix:///run/devloop-env/docker.sock
	DockerConfig     string // DOCKER_CONFIG: holds the buildx plugin and builders
	Kubeconfig       string // KUBECONFIG
	KubeContext      string // DEVLOOP_KUBE_CONTEXT
	Registry         string // DEVLOOP_REGISTRY, e.g. 127.0.0.1:5000
	MultiBuilder     string // DEVLOOP_BUILDER_MULTI: buildx remote builder for multi-platform builds
	ContainerdSocket string // DEVLOOP_CONTAINERD_SOCK: the cluster's containerd
	State            string // DEVLOOP_ENV_STATE: data roots, logs, pki
	Run              string // DEVLOOP_ENV_RUN: sockets and pid files
	// The kind cluster made by kind's CLI, a second context in Kubeconfig.
	KindContext  string // DEVLOOP_KIND_CONTEXT, e.g. kind-devloop
	KindCluster  string // DEVLOOP_KIND_CLUSTER: the kind cluster name
	KindRegistry string // DEVLOOP_KIND_REGISTRY: kind's local registry as this machine reaches it
}

const fix = `run: eval "$(make -s env)" after make env-up (or use make test, which does both)`

// Require returns the environment or ends the test: skipped under -short,
// failed when the environment is not up.
func Require(t testing.TB) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the real environment (make env-up); skipped with -short")
	}
	e := &Env{
		DockerHost:       os.Getenv("DOCKER_HOST"),
		DockerConfig:     os.Getenv("DOCKER_CONFIG"),
		Kubeconfig:       os.Getenv("KUBECONFIG"),
		KubeContext:      os.Getenv("DEVLOOP_KUBE_CONTEXT"),
		Registry:         os.Getenv("DEVLOOP_REGISTRY"),
		MultiBuilder:     os.Getenv("DEVLOOP_BUILDER_MULTI"),
		ContainerdSocket: os.Getenv("DEVLOOP_CONTAINERD_SOCK"),
		State:            os.Getenv("DEVLOOP_ENV_STATE"),
		Run:              os.Getenv("DEVLOOP_ENV_RUN"),
		KindContext:      os.Getenv("DEVLOOP_KIND_CONTEXT"),
		KindCluster:      os.Getenv("DEVLOOP_KIND_CLUSTER"),
		KindRegistry:     os.Getenv("DEVLOOP_KIND_REGISTRY"),
	}
	for name, v := range map[string]string{
		"DOCKER_HOST": e.DockerHost, "KUBECONFIG": e.Kubeconfig,
		"DEVLOOP_REGISTRY": e.Registry, "DEVLOOP_CONTAINERD_SOCK": e.ContainerdSocket,
	} {
		if v == "" {
			t.Fatalf("testenv: %s is not set; %s", name, fix)
		}
	}
	sock := strings.TrimPrefix(e.DockerHost, "unix://")
	if c, err := net.DialTimeout("unix", sock, 2*time.Second); err != nil {
		t.Fatalf("testenv: Docker Engine at %s not reachable (%v); %s", e.DockerHost, err, fix)
	} else {
		_ = c.Close()
	}
	return e
}

// RequireKind is Require for tests of the kind cluster: it fails when the
// environment has no kind context or its API server does not answer.
func RequireKind(t testing.TB) *Env {
	t.Helper()
	e := Require(t)
	if e.KindContext == "" || e.KindCluster == "" {
		t.Fatalf("testenv: DEVLOOP_KIND_CONTEXT is not set (make env-up brings up the kind cluster unless DEVLOOP_ENV_SKIP_KIND is set); %s", fix)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := e.Command(ctx, "kubectl", "--context", e.KindContext, "get", "--raw=/readyz").CombinedOutput(); err != nil {
		t.Fatalf("testenv: kind cluster %s does not answer: %v\n%s", e.KindContext, err, out)
	}
	return e
}

// Kubectl runs kubectl against the environment's cluster and returns its
// combined output; the test fails if kubectl fails.
func (e *Env) Kubectl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := e.Command(context.Background(), "kubectl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Command returns a command whose environment points at this environment.
func (e *Env) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = os.Environ()
	return cmd
}

// Namespace creates a namespace with a unique name for the test and deletes it
// (without waiting) when the test ends.
func (e *Env) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	name := strings.ToLower(prefix) + "-" + time.Now().Format("150405") + "-" + randSuffix()
	e.Kubectl(t, "create", "namespace", name)
	t.Cleanup(func() {
		_ = e.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false").Run()
	})
	return name
}

func randSuffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	n := time.Now().UnixNano()
	b := make([]byte, 5)
	for i := range b {
		b[i] = letters[n%int64(len(letters))]
		n /= int64(len(letters))
	}
	return string(b)
}
