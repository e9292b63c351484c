// Package pipeline is one pass of devloop's work: hash each artifact's
// context, build what changed, deliver it to the cluster, render the
// kustomize overlay with the new references, apply it with server-side apply,
// prune what left the manifests and wait until everything is ready.
//
// `devloop run` makes one pass; `devloop dev` keeps one Runner and makes a
// pass per change, which is why the Runner remembers what it built and
// deployed.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/docker"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/fspath"
	"github.com/devloop-dev/devloop/internal/helm"
	"github.com/devloop-dev/devloop/internal/hooks"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/registry"
	"github.com/devloop-dev/devloop/internal/status"
)

// Options tune a Runner.
type Options struct {
	// Platforms overrides every artifact's platforms (--platform).
	Platforms []string
	// Builder overrides build.builder (--builder).
	Builder string
	// Force recreates objects whose immutable fields changed.
	Force bool
	// Adopt takes over existing objects without devloop's labels (--adopt;
	// deploy.adopt does the same).
	Adopt bool
	// Push pushes images to the registry even for one platform.
	Push bool
	// Progress receives buildx's output; nil discards it.
	Progress io.Writer
	// TTY asks buildx for its interactive progress display.
	TTY bool
	// Parallel bounds concurrent builds (default 2).
	Parallel int
	// Cluster is what the user says of the cluster (--containerd-address,
	// --shared-engine), which wins over detection.
	Cluster deliver.Override
	// CacheRender keeps the kustomize output between deploys until
	// ForgetRender (the dev loop, which watches the manifests).
	CacheRender bool
	// Helper injects devloop's helper into the pods of artifacts whose sync
	// rules restart the process: `devloop dev` only, never `devloop run`.
	Helper bool
	// RemoveSuperseded removes from the engine the images this session
	// built once a ready deploy has replaced them (`devloop dev`).
	RemoveSuperseded bool
	// NewPodsReady counts a Deployment ready once its new pods are, before
	// its old pods are gone (`devloop dev`; see status.WaiterOptions).
	NewPodsReady bool
	// Debug starts the built containers under their runtime's debugger
	// (`devloop debug`); nil for every other command.
	Debug *DebugOptions
}

// Runner makes passes for one configuration against one cluster.
//
// Locking rule: passes (Run, CheckManifests, BuildAll, Deploy, Render) and
// SetConfig are called from one goroutine at a time, never concurrently
// with each other (devloop run's only goroutine; the dev loop's cycle
// goroutine, which reloads between passes). That goroutine alone writes
// cfg, applier, engine, builder and deliverer, so it reads them without mu.
// Other goroutines (the dev loop's decide, while a cycle runs) call only
// Config, NoteChanges, ForgetRender and Images, which take mu. mu also
// guards artifacts and the kept kustomize output, which the goroutines of
// one pass share.
type Runner struct {
	log  *zap.Logger
	sink events.Sink
	opts Options

	cfg     *config.Config // written under mu by SetConfig; see the locking rule
	kube    *kube.Client
	hasher  *buildcontext.Hasher
	waiter  *status.Waiter
	hooks   *hooks.Runner
	cluster deliver.Cluster
	helm    HelmDeployer

	applier          *deploy.Applier
	applierNamespace string // the applier's default namespace

	// The engine, builder and deliverer exist once a configuration has
	// artifacts: made by New, or by the first pass after a reload added one.
	engine    *client.Client
	builder   *build.Builder
	deliverer deliver.Deliverer
	// registry reads images from registries with the user's credentials
	// (presence checks of pushed builds, the helper's image commands).
	registry *registry.Client
	connect  func(context.Context) error // connectEngine; tests replace it

	mu        sync.Mutex
	artifacts map[string]*artifactState // by image name
	// kustomized is the kept kustomize output of kustomizedPath
	// (Options.CacheRender), before devloop's changes.
	kustomized     []*unstructured.Unstructured
	kustomizedPath string
	renderGen      uint64 // bumped by ForgetRender and SetConfig
	// appNamespace is the namespace of most rendered objects (hooks'
	// DEVLOOP_NAMESPACE and the namespace of container hooks).
	appNamespace string

	// helper is devloop's helper image once built (Options.Helper); the
	// pass goroutine alone uses it.
	helper helperState
	// debugSupportRef is the debuggers' support image once delivered
	// (Options.Debug); the pass goroutine alone uses it.
	debugSupportRef string
	// gone is what Options.RemoveSuperseded removes; under mu. removals
	// counts the background removals (Close waits for them); removing
	// lets one run at a time.
	gone     superseded
	removals sync.WaitGroup
	removing sync.Mutex
}

// artifactState is what the Runner knows of an artifact from earlier passes.
type artifactState struct {
	tag      string // the tag of the image deployed
	ref      string // the reference deployed
	manifest buildcontext.Manifest

	// The last hash, patched by the paths changed since (dev loop) instead
	// of walking the whole context again.
	bc      *buildcontext.Context
	hashed  *buildcontext.Result
	changed map[string]bool // absolute paths changed since hashed
	rescan  bool
	// force makes the next build run even if the image is there
	// (ForceRebuild); the build clears it.
	force bool
}

// New connects to the Docker Engine, detects the cluster and how images
// reach it, and returns a Runner. It emits the detect event.
func New(ctx context.Context, log *zap.Logger, sink events.Sink, cfg *config.Config, kc *kube.Client, opts Options) (*Runner, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 2
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	r := &Runner{
		log: log, sink: sink, opts: opts, cfg: cfg, kube: kc,
		hasher:    buildcontext.NewHasher(),
		artifacts: map[string]*artifactState{},
		registry:  registry.New(log.Named("registry")),
	}
	r.connect = r.connectEngine
	r.setApplier(cfg)
	r.waiter = status.NewWaiter(kc.Dynamic, kc.Mapper, kc.Clientset, log.Named("status"), status.WaiterOptions{NewPodsReady: opts.NewPodsReady})
	r.hooks = hooks.New(log.Named("hooks"), sink, opts.Progress, hooks.KubePods{Config: kc.Config, Client: kc.Clientset})
	hc, err := helm.New(log.Named("helm"), kc.Config, kc.Clientset, kc.Context, kc.Namespace)
	if err != nil {
		return nil, err
	}
	r.helm = hc

	if len(cfg.Build.Artifacts) > 0 {
		if err := r.openEngine(ctx); err != nil {
			return nil, err
		}
	}

	t := events.Start(sink, events.Event{Phase: events.PhaseDetect})
	cl, err := deliver.Detect(ctx, kc.Clientset, deliver.Facts{
		KubeContext: kc.Context, ServerURL: kc.Server, ConfiguredRegistry: cfg.Registry, Override: opts.Cluster,
	})
	if err != nil {
		t.Fail(err)
		return nil, fmt.Errorf("detecting the cluster behind %s: %w", kc.Context, err)
	}
	r.cluster = cl
	if r.engine != nil {
		if err := r.openDeliverer(); err != nil {
			t.Fail(err)
			return nil, err
		}
	}
	t.Done(fmt.Sprintf("%s cluster (%s); nodes %v", cl.Kind, cl.Reason, cl.Platforms))
	return r, nil
}

// connectEngine makes the engine connection, the builder and the deliverer
// when they do not exist yet: a reload added the first artifact.
func (r *Runner) connectEngine(ctx context.Context) error {
	if err := r.openEngine(ctx); err != nil {
		return err
	}
	return r.openDeliverer()
}

func (r *Runner) openEngine(ctx context.Context) error {
	if r.engine != nil {
		return nil
	}
	engine, ep, err := docker.New(ctx, r.log.Named("docker"))
	if err != nil {
		return err
	}
	r.engine = engine
	r.builder = build.NewBuilder(r.log.Named("build"), docker.MergeEnv(os.Environ(), ep.CommandEnv()))
	return nil
}

func (r *Runner) openDeliverer() error {
	if r.deliverer != nil {
		return nil
	}
	d, err := deliver.New(r.cluster, r.engine, r.registry, r.log.Named("deliver"))
	if err != nil {
		return err
	}
	r.deliverer = d
	return nil
}

// setApplier makes the applier for cfg's default namespace (deploy.namespace,
// else the kube context's), keeping the current one when that is unchanged.
func (r *Runner) setApplier(cfg *config.Config) {
	ns := namespaceOr(cfg.Deploy.Namespace, r.kube.Namespace)
	if r.applier != nil && ns == r.applierNamespace {
		return
	}
	r.applier = deploy.NewApplier(r.kube.Dynamic, r.kube.Clientset.Discovery(), r.kube.Mapper, r.log.Named("deploy"),
		deploy.ApplierOptions{DefaultNamespace: ns})
	r.applierNamespace = ns
}

// Close waits for the background removal of superseded images, then
// releases the engine connection and the deliverer's, if it holds one.
func (r *Runner) Close() error {
	r.removals.Wait()
	var errs []error
	if c, ok := r.deliverer.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	if r.engine != nil {
		errs = append(errs, r.engine.Close())
	}
	return errors.Join(errs...)
}

// Config is the configuration the Runner works with.
func (r *Runner) Config() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// SetConfig swaps the configuration (the dev loop reloads devloop.yaml):
// artifacts that left it are forgotten, the applier follows its default
// namespace, and the next pass connects the engine if the first artifact
// was added. It must not run during a pass (see the locking rule).
func (r *Runner) SetConfig(cfg *config.Config) {
	r.setApplier(cfg)
	r.mu.Lock()
	defer r.mu.Unlock()
	keep := map[string]bool{}
	for _, a := range cfg.Build.Artifacts {
		keep[a.Image] = true
	}
	for img := range r.artifacts {
		if !keep[img] {
			delete(r.artifacts, img)
		}
	}
	r.cfg = cfg
	r.kustomized, r.kustomizedPath = nil, ""
	r.renderGen++
}

// ForceRebuild makes the next build of image run even when its tag is
// already built and delivered (the dashboard's rebuild button): the build
// runs (buildx's cache makes it quick) and the pass redeploys.
func (r *Runner) ForceRebuild(image string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state(image).force = true
}

// NoteChanges records paths changed since the last hash (the dev loop's
// change sets), so the next hash of an artifact only looks at those. rescan
// means events were lost: the next hashes walk the whole contexts.
func (r *Runner) NoteChanges(paths []string, rescan bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range r.cfg.Build.Artifacts {
		st := r.artifacts[a.Image]
		if st == nil || st.hashed == nil {
			continue
		}
		if rescan {
			st.rescan = true
		}
		for _, p := range paths {
			if p == a.DockerfilePath || fspath.Within(p, a.ContextDir) {
				if st.changed == nil {
					st.changed = map[string]bool{}
				}
				st.changed[p] = true
			}
		}
	}
}

// Result is the outcome of a pass.
type Result struct {
	// Images maps image names to the references deployed.
	Images map[string]string
	// Built and Delivered name the artifacts that were built and delivered.
	Built, Delivered []string
	// Objects are the rendered objects that were applied.
	Objects []*unstructured.Unstructured
	// Apply is what the apply did.
	Apply deploy.ApplyResult
	// Pruned are the objects deleted because they left the manifests.
	Pruned []deploy.ObjectRef
	// Duration is the wall time of the pass.
	Duration time.Duration
}

// Run makes one full pass: check that the manifests render, build every
// artifact (skipping unchanged ones), then deploy and wait. A broken overlay
// is reported before any build.
func (r *Runner) Run(ctx context.Context) (Result, error) {
	start := time.Now()
	res := Result{}
	if err := r.CheckManifests(ctx); err != nil {
		return res, err
	}
	images, err := r.BuildAll(ctx, nil, &res)
	if err != nil {
		return res, err
	}
	res.Images = images
	err = r.Deploy(ctx, images, &res)
	res.Duration = time.Since(start)
	return res, err
}

func namespaceOr(ns, fallback string) string {
	if ns != "" {
		return ns
	}
	return fallback
}

// hookEnv is the environment of a hook: what the pass is working on.
func (r *Runner) hookEnv(image, tag, ref string) hooks.Env {
	cfg := r.cfg
	profiles := make([]string, 0, len(cfg.ActiveProfiles))
	for _, p := range cfg.ActiveProfiles {
		profiles = append(profiles, p.Name)
	}
	r.mu.Lock()
	ns := r.appNamespace
	r.mu.Unlock()
	if cfg.Deploy.Namespace != "" || ns == "" {
		ns = namespaceOr(cfg.Deploy.Namespace, r.kube.Namespace)
	}
	return hooks.Env{Image: image, Tag: tag, ImageRef: ref, KubeContext: r.kube.Context,
		Namespace: ns, ConfigDir: cfg.Dir, Profiles: profiles}
}
