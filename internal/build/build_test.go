package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestRequestArgs(t *testing.T) {
	r := Request{
		Image: "notes-web", Tag: "abc", Context: "/src/web", Dockerfile: "Dockerfile.dev", Target: "dev",
		BuildArgs: map[string]string{"B": "2", "A": "1"}, Platforms: []string{"linux/amd64", "linux/arm64"},
		Builder: "multi", CacheFrom: []string{"type=registry,ref=r/c"}, CacheTo: []string{"type=inline"},
		Output: OutputPush, PushRepo: "127.0.0.1:5000/notes-web",
	}
	got := strings.Join(r.args("/tmp/m.json"), " ")
	want := "buildx build --builder multi --progress=plain --tag 127.0.0.1:5000/notes-web:abc --metadata-file /tmp/m.json " +
		"--file /src/web/Dockerfile.dev --target dev --build-arg A=1 --build-arg B=2 --platform linux/amd64,linux/arm64 " +
		"--cache-from type=registry,ref=r/c --cache-to type=inline --push /src/web"
	if got != want {
		t.Fatalf("args:\n got %s\nwant %s", got, want)
	}
	r = Request{Image: "notes-web", Tag: "abc", Context: "/src/web", Output: OutputLoad, TTY: true}
	if got := strings.Join(r.args("m"), " "); got != "buildx build --progress=auto --tag notes-web:abc --metadata-file m --load --provenance=false /src/web" {
		t.Fatalf("load args: %s", got)
	}
}

func TestRequestValidate(t *testing.T) {
	base := Request{Image: "a", Tag: "t", Context: "."}
	bad := []Request{
		{Tag: "t", Context: "."},
		{Image: "a", Tag: "t"},
		func() Request { r := base; r.Output = OutputPush; return r }(),
		func() Request { r := base; r.Platforms = []string{"linux/amd64", "linux/arm64"}; return r }(),
	}
	for i, r := range bad {
		if err := r.validate(); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	if err := base.validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParseInspect(t *testing.T) {
	out := `Name:          devloop-multi
Driver:        remote
Last Activity: 2025-01-01 00:00:00 +0000 UTC

Nodes:
Name:             devloop-multi0
Endpoint:         unix:///run/devloop-env/buildkitd.sock
Status:           running
BuildKit version: v0.29.0
Platforms:        linux/amd64*, linux/amd64/v2, linux/arm64, linux/386
`
	info := parseInspect([]byte(out))
	if info.Name != "devloop-multi" || info.Driver != "remote" ||
		!slices.Equal(info.Platforms, []string{"linux/amd64", "linux/amd64/v2", "linux/arm64", "linux/386"}) {
		t.Fatalf("info = %+v", info)
	}
}

func TestPlanOutput(t *testing.T) {
	docker := BuilderInfo{Name: "default", Driver: "docker"}
	remote := BuilderInfo{Name: "multi", Driver: "remote"}
	two := []string{"linux/amd64", "linux/arm64"}
	if o, err := PlanOutput(docker, []string{"linux/arm64"}, "", false); err != nil || o != OutputLoad {
		t.Fatalf("one platform on docker: %v %v", o, err)
	}
	if o, err := PlanOutput(docker, []string{"linux/arm64"}, "127.0.0.1:5000", true); err != nil || o != OutputPush {
		t.Fatalf("one platform, push preferred: %v %v", o, err)
	}
	_, err := PlanOutput(docker, two, "127.0.0.1:5000", false)
	var ce *CapabilityError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "build.builder") || !strings.Contains(err.Error(), "DEVLOOP_BUILDER_MULTI") {
		t.Fatalf("docker driver, two platforms: %v", err)
	}
	if _, err := PlanOutput(remote, two, "", false); !errors.As(err, &ce) || !strings.Contains(err.Error(), "set registry") {
		t.Fatalf("no registry: %v", err)
	}
	if o, err := PlanOutput(remote, two, "127.0.0.1:5000", false); err != nil || o != OutputPush {
		t.Fatalf("remote, registry: %v %v", o, err)
	}
}

func TestParseMetadata(t *testing.T) {
	d, err := parseMetadata([]byte(`{"buildx.build.ref":"x","containerimage.digest":"sha256:0123","image.name":"r/a:t"}`))
	if err != nil || d != "sha256:0123" {
		t.Fatalf("%q %v", d, err)
	}
	if _, err := parseMetadata([]byte(`{"containerimage.digest":"md5:1"}`)); err == nil {
		t.Fatal("bad digest accepted")
	}
}

func TestTailWriter(t *testing.T) {
	w := newTailWriter(3)
	_, _ = w.Write([]byte("a\nb\nc"))
	_, _ = w.Write([]byte("d\ne\nf"))
	if got := w.Lines(); !slices.Equal(got, []string{"cd", "e", "f"}) {
		t.Fatalf("lines = %q", got)
	}
}

// fakeDocker writes an executable script standing in for the docker CLI.
func fakeDocker(t *testing.T, script string) *Builder {
	t.Helper()
	p := filepath.Join(t.TempDir(), "docker")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(zap.NewNop(), os.Environ())
	b.docker = p
	return b
}

func TestBuildFailureCarriesOutput(t *testing.T) {
	b := fakeDocker(t, "echo '#5 [2/2] RUN false'; echo 'ERROR: process \"/bin/sh -c false\" did not complete successfully: exit code: 1' >&2; exit 1\n")
	var progress strings.Builder
	_, err := b.Build(context.Background(), Request{Image: "a", Tag: "t", Context: ".", Progress: &progress})
	var be *BuildError
	if !errors.As(err, &be) || !strings.Contains(err.Error(), "did not complete successfully") || len(be.Tail) != 2 {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(progress.String(), "RUN false") {
		t.Fatalf("progress not streamed: %q", progress.String())
	}
}

func TestBuildPushReadsDigest(t *testing.T) {
	// The fake finds --metadata-file among its arguments and writes a digest.
	b := fakeDocker(t, `while [ $# -gt 0 ]; do if [ "$1" = --metadata-file ]; then echo '{"containerimage.digest":"sha256:abcd"}' > "$2"; fi; shift; done`+"\n")
	res, err := b.Build(context.Background(), Request{Image: "a", Tag: "t", Context: ".", Output: OutputPush, PushRepo: "127.0.0.1:5000/a"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != "127.0.0.1:5000/a@sha256:abcd" || res.TagRef != "127.0.0.1:5000/a:t" {
		t.Fatalf("result = %+v", res)
	}
}

func TestBuildCancelKillsProcessGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// The child sleeps on; only killing the group ends it.
	b := fakeDocker(t, "sleep 60 & echo $! > "+pidFile+"; wait\n")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.Build(ctx, Request{Image: "a", Tag: "t", Context: "."})
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(pidFile); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("build did not stop after cancel")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("cancel took %v", d)
	}
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	// The child must be gone (or a zombie being reaped).
	time.Sleep(100 * time.Millisecond)
	if st, err := os.ReadFile("/proc/" + strings.TrimSpace(string(pid)) + "/stat"); err == nil && !strings.Contains(string(st), ") Z ") {
		t.Fatalf("child %s still running: %s", pid, st)
	}
}
