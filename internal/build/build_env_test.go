package build

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

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/devloop-dev/devloop/internal/docker"
	"github.com/devloop-dev/devloop/internal/registry"
	"github.com/devloop-dev/devloop/internal/testenv"
)

type envBuilder struct {
	env    *testenv.Env
	engine *client.Client
	b      *Builder
	log    *zap.Logger
}

func newEnvBuilder(t *testing.T) *envBuilder {
	t.Helper()
	env := testenv.Require(t)
	log := zaptest.NewLogger(t)
	engine, ep, err := docker.New(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = engine.Close() })
	return &envBuilder{env: env, engine: engine, log: log,
		b: NewBuilder(log, docker.MergeEnv(os.Environ(), ep.CommandEnv()))}
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

func writeContext(t *testing.T, dockerfile string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func (e *envBuilder) removeImage(t *testing.T, ref string) {
	t.Cleanup(func() {
		_, _ = e.engine.ImageRemove(context.Background(), ref, image.RemoveOptions{Force: true, PruneChildren: true})
	})
}

// A foreign-architecture build loads into the engine with the engine's own
// driver, and its RUN step runs under emulation.
func TestEnvBuildArm64Load(t *testing.T) {
	e := newEnvBuilder(t)
	ctx := context.Background()
	img := uniqueName("devloop-test-arm64")
	dir := writeContext(t, "FROM debian:bookworm-slim\nRUN uname -m > /arch && dpkg --print-architecture >> /arch\nARG NOTE\nARG TARGETPLATFORM\nRUN echo \"$NOTE $TARGETPLATFORM\" > /note\n")
	e.removeImage(t, img+":v1")

	info, err := e.b.Inspect(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := PlanOutput(info, []string{"linux/arm64"}, "", false)
	if err != nil || out != OutputLoad {
		t.Fatalf("plan: %v %v", out, err)
	}
	var progress strings.Builder
	res, err := e.b.Build(ctx, Request{Image: img, Tag: "v1", Context: dir, Platforms: []string{"linux/arm64"},
		BuildArgs: map[string]string{"NOTE": "hello"}, Output: out, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("arm64 build: %s in %v", res.Ref, res.Duration)
	if res.Ref != img+":v1" {
		t.Fatalf("ref %q", res.Ref)
	}
	if !strings.Contains(progress.String(), "uname -m") {
		t.Fatalf("progress not streamed:\n%s", progress.String())
	}
	insp, err := e.engine.ImageInspect(ctx, res.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if insp.Architecture != "arm64" {
		t.Fatalf("architecture %q, want arm64", insp.Architecture)
	}
	ok, err := ExistsInEngine(ctx, e.engine, res.Ref)
	if err != nil || !ok {
		t.Fatalf("ExistsInEngine: %v %v", ok, err)
	}
	if ok, err := ExistsInEngine(ctx, e.engine, img+":absent"); err != nil || ok {
		t.Fatalf("ExistsInEngine(absent): %v %v", ok, err)
	}
	// The RUN step ran as arm64: read what it wrote.
	cmd := e.env.Command(ctx, "docker", "run", "--rm", "--platform", "linux/arm64", res.Ref, "cat", "/arch", "/note")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("docker run: %v\n%s", err, b)
	}
	if got := string(b); !strings.Contains(got, "aarch64\narm64\n") || !strings.Contains(got, "hello linux/arm64") {
		t.Fatalf("files written by RUN: %q", got)
	}
}

// Several platforms on the engine's own driver fail with advice; on the
// multi-platform builder they push one index with both.
func TestEnvBuildMultiPlatformPush(t *testing.T) {
	e := newEnvBuilder(t)
	if e.env.MultiBuilder == "" {
		t.Fatal("DEVLOOP_BUILDER_MULTI is not set")
	}
	ctx := context.Background()
	two := []string{"linux/amd64", "linux/arm64"}

	def, err := e.b.Inspect(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var ce *CapabilityError
	if _, err := PlanOutput(def, two, e.env.Registry, false); def.Driver == "docker" && !errors.As(err, &ce) {
		t.Fatalf("docker driver accepted two platforms: %v", err)
	}
	multi, err := e.b.Inspect(ctx, e.env.MultiBuilder)
	if err != nil {
		t.Fatal(err)
	}
	out, err := PlanOutput(multi, two, e.env.Registry, false)
	if err != nil || out != OutputPush {
		t.Fatalf("plan on %+v: %v %v", multi, out, err)
	}
	img := uniqueName("devloop-test-multi")
	repo := e.env.Registry + "/" + img
	dir := writeContext(t, "FROM debian:bookworm-slim\nRUN dpkg --print-architecture > /arch\n")
	res, err := e.b.Build(ctx, Request{Image: img, Tag: "v1", Context: dir, Platforms: two, Builder: e.env.MultiBuilder,
		Output: out, PushRepo: repo})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("multi-platform build: %s in %v", res.Ref, res.Duration)
	if !strings.HasPrefix(res.Ref, repo+"@sha256:") {
		t.Fatalf("ref %q", res.Ref)
	}
	ref, err := name.ParseReference(res.Ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS != "unknown" {
			got = append(got, d.Platform.OS+"/"+d.Platform.Architecture)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, two) {
		t.Fatalf("index platforms %v, want %v", got, two)
	}
	d, ok, err := registry.New(zap.NewNop()).Exists(ctx, repo+":v1")
	if err != nil || !ok || repo+"@"+d != res.Ref {
		t.Fatalf("registry Exists: %q %v %v", d, ok, err)
	}
}

// A build error carries BuildKit's reason.
func TestEnvBuildFailure(t *testing.T) {
	e := newEnvBuilder(t)
	dir := writeContext(t, "FROM debian:bookworm-slim\nRUN echo devloop-broken-step && exit 3\n")
	_, err := e.b.Build(context.Background(), Request{Image: uniqueName("devloop-test-fail"), Tag: "v1", Context: dir})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "exit code: 3") {
		t.Fatalf("err = %v", err)
	}
}

// A docker CLI without the buildx plugin gets the clear message from
// Inspect too (asked before multi-platform builds), not buildx's raw usage.
func TestEnvInspectWithoutBuildx(t *testing.T) {
	e := newEnvBuilder(t)
	env := docker.MergeEnv(os.Environ(), []string{"DOCKER_CONFIG=" + t.TempDir()})
	b := NewBuilder(e.log, env)
	_, err := b.Inspect(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "buildx plugin is not installed") {
		t.Fatalf("Inspect without buildx: %v, want the missing-plugin message", err)
	}
	t.Logf("error: %v", err)
}
