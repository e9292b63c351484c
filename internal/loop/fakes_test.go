package loop

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/pipeline"
	"github.com/devloop-dev/devloop/internal/plan"
	"github.com/devloop-dev/devloop/internal/watch"
)

// fakePipeline implements Pipeline in memory. Each BuildAll and Deploy is
// reported on calls; a pass blocks while hold is set, until released or
// cancelled.
type fakePipeline struct {
	mu       sync.Mutex
	cfg      *config.Config
	version  int
	images   map[string]string
	hold     bool
	release  chan struct{}
	failWith []error                      // errors of the next BuildAll calls, in order
	objects  []*unstructured.Unstructured // what each Deploy renders
	calls    chan string
	synced   chan plan.ArtifactPlan // every Sync
}

var _ Pipeline = (*fakePipeline)(nil)

func newFakePipeline(cfg *config.Config) *fakePipeline {
	return &fakePipeline{cfg: cfg, images: map[string]string{}, release: make(chan struct{}), calls: make(chan string, 64), synced: make(chan plan.ArtifactPlan, 4)}
}

func (p *fakePipeline) Config() *config.Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg
}

func (p *fakePipeline) SetConfig(cfg *config.Config) {
	p.mu.Lock()
	p.cfg = cfg
	p.mu.Unlock()
	p.calls <- "setconfig"
}

func (p *fakePipeline) ForceRebuild(image string)            { p.calls <- "force " + image }
func (p *fakePipeline) NoteChanges([]string, bool)           {}
func (p *fakePipeline) ForgetRender()                        {}
func (p *fakePipeline) CheckManifests(context.Context) error { return nil }

func (p *fakePipeline) BuildAll(ctx context.Context, only []string, res *pipeline.Result) (map[string]string, error) {
	p.mu.Lock()
	hold := p.hold
	var err error
	if len(p.failWith) > 0 {
		err, p.failWith = p.failWith[0], p.failWith[1:]
	}
	p.mu.Unlock()
	p.calls <- fmt.Sprintf("build %v", only)
	if hold {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.release:
		}
	}
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.version++
	for _, a := range p.cfg.Build.Artifacts {
		if only == nil || contains(only, a.Image) {
			p.images[a.Image] = fmt.Sprintf("%s:v%d", a.Image, p.version)
			res.Built = append(res.Built, a.Image)
		}
	}
	return p.imagesLocked(), nil
}

func (p *fakePipeline) Images() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.imagesLocked()
}

func (p *fakePipeline) imagesLocked() map[string]string {
	out := map[string]string{}
	for k, v := range p.images {
		out[k] = v
	}
	return out
}

func (p *fakePipeline) Deploy(ctx context.Context, images map[string]string, res *pipeline.Result) error {
	p.mu.Lock()
	res.Objects = p.objects
	p.mu.Unlock()
	p.calls <- "deploy"
	return ctx.Err()
}

func (p *fakePipeline) Sync(ctx context.Context, a plan.ArtifactPlan) error {
	p.synced <- a
	return ctx.Err()
}

func (p *fakePipeline) setHold(h bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hold = h
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fakeWatcher is a Watcher fed by the test: every Run is one start, whose
// roots and output channel the test reads from starts.
type fakeWatcher struct{ starts chan watcherStart }

type watcherStart struct {
	quiet time.Duration
	roots []watch.Root
	out   chan<- watch.ChangeSet
	ctx   context.Context
}

type fakeWatch struct {
	w     *fakeWatcher
	quiet time.Duration
	ready chan struct{}
}

func (w *fakeWatcher) New(_ *zap.Logger, quiet time.Duration) Watcher {
	return &fakeWatch{w: w, quiet: quiet, ready: make(chan struct{})}
}

func (f *fakeWatch) Ready() <-chan struct{} { return f.ready }

func (f *fakeWatch) Run(ctx context.Context, roots []watch.Root, out chan<- watch.ChangeSet) error {
	close(f.ready)
	f.w.starts <- watcherStart{quiet: f.quiet, roots: roots, out: out, ctx: ctx}
	<-ctx.Done()
	return ctx.Err()
}

// recorder is an events.Sink the test reads.
type recorder struct{ ch chan events.Event }

func (r recorder) Emit(e events.Event) {
	select {
	case r.ch <- e:
	default: // a test that does not read events must not block the loop
	}
}

// project is a directory with a devloop.yaml, an artifact "web" (context
// app/, sync rule *.py → /app) and an overlay, as config.Load resolves it.
type project struct {
	dir string
	cfg *config.Config
}

func newProject(t *testing.T) project {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"devloop.yaml":           "# read by the test's Load, not parsed\n",
		"app/Dockerfile":         "FROM scratch\n",
		"app/main.go":            "package main\n",
		"app/ui.py":              "print(1)\n",
		"k8s/kustomization.yaml": "resources: [deploy.yaml]\n",
		"k8s/deploy.yaml":        "kind: x\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := &config.Config{File: filepath.Join(dir, "devloop.yaml"), Dir: dir}
	cfg.Metadata.Name = "app"
	cfg.Deploy.Kustomize.Path = "k8s"
	cfg.Deploy.Kustomize.Dir = filepath.Join(dir, "k8s")
	cfg.Build.Artifacts = []config.Artifact{{
		Image: "web", Context: "app", ContextDir: filepath.Join(dir, "app"),
		DockerfilePath: filepath.Join(dir, "app", "Dockerfile"),
		Sync:           []config.SyncRule{{Src: "*.py", Dest: "/app"}},
	}}
	return project{dir: dir, cfg: cfg}
}

// change is a change set of paths relative to the project.
func (p project) change(rel ...string) watch.ChangeSet {
	var cs watch.ChangeSet
	for _, r := range rel {
		cs.Paths = append(cs.Paths, watch.Change{Path: filepath.Join(p.dir, r)})
	}
	return cs
}
