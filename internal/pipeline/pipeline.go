// Package pipeline is the orchestrator of devloop's passes. A pass is
// made of stages, each behind its own package and interface: the build
// stage (internal/stage/builder: hash, build through a Kind, deliver with
// internal/stage/delivery), the render stage (internal/stage/renderer:
// kustomize and Helm template), the transforms of the rendered objects
// (devloop's helper in dev mode), and the deploy stage
// (internal/stage/deployer: Helm install or upgrade, server-side apply,
// prune, wait). The sync stage (internal/stage/syncer) copies files into
// running containers between passes.
//
// `devloop run` makes one pass in ModeRun; `devloop dev` keeps one Runner
// in ModeDev and makes a pass per change, which is why the stages remember
// what they built and rendered.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
	"github.com/devloop-dev/devloop/internal/hooks"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/livesync"
	"github.com/devloop-dev/devloop/internal/registry"
	"github.com/devloop-dev/devloop/internal/stage/builder"
	"github.com/devloop-dev/devloop/internal/stage/deployer"
	"github.com/devloop-dev/devloop/internal/stage/renderer"
	"github.com/devloop-dev/devloop/internal/stage/syncer"
	"github.com/devloop-dev/devloop/internal/status"
)

// InputError says the user's configuration or manifests are wrong in a way
// only rendering shows. The CLI exits 2 for it.
type InputError = renderer.InputError

// Mode is what kind of session the passes serve.
type Mode int

const (
	// ModeRun is one pass (`devloop run`, `devloop build`).
	ModeRun Mode = iota
	// ModeDev is the passes of `devloop dev`: devloop's helper wraps the
	// containers whose sync rules restart the process, the images a ready
	// deploy replaced leave the engine, and a Deployment counts ready once
	// its new pods are (see status.WaiterOptions).
	ModeDev
)

// Transformer changes the rendered objects of a pass before they are
// applied (the objects applied with server-side apply; Helm installs its
// releases' own). Transformers run in order after the render stage.
type Transformer interface {
	Transform(ctx context.Context, cfg *config.Config, images map[string]string, objs []*unstructured.Unstructured) error
}

// Options tune a Runner.
type Options struct {
	// Mode is the kind of session.
	Mode Mode
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
	// Cluster is what the user says of the cluster (--containerd-address),
	// which wins over detection.
	Cluster deliver.Override
	// Debug starts the built containers under their runtime's debugger
	// (`devloop debug`, in ModeDev); nil for every other command.
	Debug *DebugOptions
}

// Runner makes passes for one configuration against one cluster.
//
// Locking rule: passes (Run, CheckManifests, BuildAll, Deploy, Sync) and
// SetConfig are called from one goroutine at a time, never concurrently
// with each other (devloop run's only goroutine; the dev loop's cycle
// goroutine, which reloads between passes). Other goroutines (the dev
// loop's decide, while a cycle runs) call only Config, NoteChanges,
// ForgetRender, ForceRebuild and Images, which are safe.
type Runner struct {
	log  *zap.Logger
	sink events.Sink
	opts Options
	kube *kube.Client

	builder    *builder.Stage
	renderer   *renderer.Stage
	deployer   *deployer.Stage
	syncer     *syncer.Stage
	transforms []Transformer
	hooks      *hooks.Runner
	env        *hookEnv
	gone       *remover

	engine  *engine
	cluster deliver.Cluster
	connect func(context.Context) error // connects the engine; tests replace it

	mu  sync.Mutex
	cfg *config.Config // written by SetConfig; see the locking rule
}

// New connects to the Docker Engine, detects the cluster and how images
// reach it, and returns a Runner. It emits the detect event.
func New(ctx context.Context, log *zap.Logger, sink events.Sink, cfg *config.Config, kc *kube.Client, opts Options) (*Runner, error) {
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	dev := opts.Mode == ModeDev
	reg := registry.New(log.Named("registry"))
	r := &Runner{
		log: log, sink: sink, opts: opts, cfg: cfg, kube: kc,
		env:   &hookEnv{kubeContext: kc.Context, kubeNamespace: kc.Namespace, cfg: cfg},
		hooks: hooks.New(log.Named("hooks"), sink, opts.Progress, hooks.KubePods{Config: kc.Config, Client: kc.Clientset}),
		gone:  &remover{log: log.Named("superseded")},
		engine: &engine{log: log, sink: sink, registry: reg, opts: builder.BuildxOptions{
			Builder: opts.Builder, Push: opts.Push, Progress: opts.Progress, TTY: opts.TTY}},
	}
	hc, err := helm.New(log.Named("helm"), kc.Config, kc.Clientset, kc.Context, kc.Namespace)
	if err != nil {
		return nil, err
	}
	r.renderer = renderer.New(sink, renderer.NewKustomize(deploy.ScopeFromMapper(kc.Mapper)), renderer.NewHelm(hc, kc.Namespace))
	waiter := status.NewWaiter(kc.Dynamic, kc.Mapper, kc.Clientset, log.Named("status"), status.WaiterOptions{NewPodsReady: dev})
	r.deployer = deployer.New(sink, func(ns string) deployer.Applier {
		return deploy.NewApplier(kc.Dynamic, kc.Clientset.Discovery(), kc.Mapper, log.Named("deploy"), deploy.ApplierOptions{DefaultNamespace: ns})
	}, waiter, hc, deployer.Options{Force: opts.Force, Adopt: opts.Adopt})
	r.deployer.SetNamespace(namespaceOr(cfg.Deploy.Namespace, kc.Namespace))

	if len(cfg.Build.Artifacts) > 0 {
		if err := r.engine.dial(ctx); err != nil {
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
	r.connect = func(ctx context.Context) error { return r.engine.connect(ctx, cl) }
	if r.engine.client != nil {
		if err := r.engine.deliverTo(cl); err != nil {
			t.Fail(err)
			return nil, err
		}
	}
	t.Done(fmt.Sprintf("%s cluster (%s); nodes %v", cl.Kind, cl.Reason, cl.Platforms))

	r.builder = builder.New(log.Named("build"), sink, r.hooks, builder.Options{
		Platforms: opts.Platforms, NodePlatforms: cl.Platforms, Parallel: opts.Parallel, Env: r.env.env,
		Adjust: func(cfg *config.Config, a config.Artifact) config.Artifact { return debugBuild(opts.Debug, cfg, a) }})
	r.syncer = syncer.New(sink, livesync.New(kc.Config, kc.Clientset, log.Named("sync")), r.builder.Platform)
	commands := &imageCommands{builder: r.builder, engine: r.engine, cluster: cl}
	if dev {
		r.transforms = append(r.transforms, &helperInjector{sink: sink, builder: r.builder, engine: r.engine, commands: commands})
	}
	if opts.Debug != nil {
		r.transforms = append(r.transforms, &debugInjector{opts: opts.Debug, sink: sink, engine: r.engine, commands: commands})
	}
	return r, nil
}

// Close waits for the background removal of superseded images, then
// releases the engine connection and the deliverer's, if it holds one.
func (r *Runner) Close() error {
	r.gone.wait()
	return r.engine.Close()
}

// Config is the configuration the Runner works with.
func (r *Runner) Config() *config.Config {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cfg
}

// SetConfig swaps the configuration (the dev loop reloads devloop.yaml):
// artifacts that left it are forgotten, the applier follows its default
// namespace, the kept render is dropped, and the next pass connects the
// engine if the first artifact was added. It must not run during a pass
// (see the locking rule).
func (r *Runner) SetConfig(cfg *config.Config) {
	r.deployer.SetNamespace(namespaceOr(cfg.Deploy.Namespace, r.kube.Namespace))
	r.builder.Retain(cfg)
	r.renderer.Forget()
	r.env.setConfig(cfg)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cfg = cfg
}

// ForceRebuild makes the next build of image run even when its tag is
// already built and delivered (the dashboard's rebuild button): the build
// runs (buildx's cache makes it quick) and the pass redeploys.
func (r *Runner) ForceRebuild(image string) { r.builder.ForceRebuild(image) }

// NoteChanges records paths changed since the last hash (the dev loop's
// change sets), so the next hash of an artifact only looks at those. rescan
// means events were lost: the next hashes walk the whole contexts.
func (r *Runner) NoteChanges(paths []string, rescan bool) {
	r.builder.NoteChanges(r.Config(), paths, rescan)
}

// ForgetRender drops the kept kustomize output: the dev loop calls it when
// a file under the manifests changed (or events were lost).
func (r *Runner) ForgetRender() { r.renderer.Forget() }

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
