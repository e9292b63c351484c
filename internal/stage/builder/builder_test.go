package builder

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
)

type discard struct{}

func (discard) Emit(events.Event) {}

// fakeKind "builds" every job it gets.
type fakeKind struct{ jobs []Job }

func (k *fakeKind) Build(_ context.Context, j Job) (Outcome, error) {
	k.jobs = append(k.jobs, j)
	return Outcome{Ref: j.Artifact.Image + ":" + j.Tag, Built: true}, nil
}

func project(t *testing.T) (*config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"Dockerfile": "FROM scratch\n", "main.go": "package main\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{}
	cfg.Build.Artifacts = []config.Artifact{{Image: "web", ContextDir: dir, DockerfilePath: filepath.Join(dir, "Dockerfile")}}
	return cfg, dir
}

// The Kind builds only what changed: unchanged content is not built again,
// a noted change is, and so is an image whose rebuild was asked for.
func TestBuildsOnlyWhatChanged(t *testing.T) {
	cfg, dir := project(t)
	s := New(zap.NewNop(), discard{}, nil, Options{NodePlatforms: []string{"linux/amd64"}})
	k := &fakeKind{}
	ctx := context.Background()

	if _, err := s.BuildAll(ctx, cfg, k, nil); err != nil {
		t.Fatal(err)
	}
	first := s.Images()["web"]
	if len(k.jobs) != 1 || first == "" || k.jobs[0].Reason != "first build in this session" || k.jobs[0].Platforms[0] != "linux/amd64" {
		t.Fatalf("jobs %+v, images %v", k.jobs, s.Images())
	}
	outs, err := s.BuildAll(ctx, cfg, k, nil)
	if err != nil || len(k.jobs) != 1 || len(outs) != 1 || outs[0].Built || outs[0].Ref != first {
		t.Fatalf("unchanged content: %d jobs, outcomes %+v, err %v; want no build and the same reference", len(k.jobs), outs, err)
	}

	main := filepath.Join(dir, "main.go")
	if err := os.WriteFile(main, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.NoteChanges(cfg, []string{main}, false)
	if _, err := s.BuildAll(ctx, cfg, k, nil); err != nil || len(k.jobs) != 2 || s.Images()["web"] == first {
		t.Fatalf("changed content: %d jobs, images %v, err %v", len(k.jobs), s.Images(), err)
	}

	s.ForceRebuild("web")
	if _, err := s.BuildAll(ctx, cfg, k, nil); err != nil || len(k.jobs) != 3 || !k.jobs[2].Force || k.jobs[2].Reason != "rebuild asked for" {
		t.Fatalf("forced: %d jobs (%+v), err %v", len(k.jobs), k.jobs, err)
	}
	if s.Tag("web") == "" || s.Platform(cfg, "web") != "linux/amd64" || s.Platform(cfg, "nope") != "" {
		t.Errorf("tag %q, platform %q", s.Tag("web"), s.Platform(cfg, "web"))
	}

	s.Retain(&config.Config{})
	if len(s.Images()) != 0 {
		t.Fatalf("an artifact that left the configuration is remembered: %v", s.Images())
	}
	ref, err := s.BuildSupport(ctx, cfg, k, cfg.Build.Artifacts[0])
	if err != nil || ref == "" || len(s.Images()) != 0 {
		t.Fatalf("support image: %q, %v, images %v; want a reference, not remembered", ref, err, s.Images())
	}
}
