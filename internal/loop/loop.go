// Package loop is `devloop dev`: the continuous inner loop. It watches the
// sources, the kustomize tree and devloop.yaml, asks the pure plan.Decide
// what each batch of changes means, and carries it out through the
// pipeline: live sync, rebuild, redeploy or config reload. A newer change
// cancels the work in flight, so a stale image never lands over a newer one;
// a failed cycle is reported and the loop keeps watching, retrying on its
// own when the failure was the cluster or the engine going away.
package loop

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/pipeline"
	"github.com/devloop-dev/devloop/internal/plan"
	"github.com/devloop-dev/devloop/internal/watch"
)

// Summarizer gives the per-phase timings of a cycle (the text output).
type Summarizer interface {
	Summary() string
	Reset()
}

// Pipeline is what the loop knows of the orchestrator (a pipeline.Runner):
// the configuration, what changed since the last pass, the steps of a pass
// and the sync stage. The loop calls the passes, Sync and SetConfig from
// its one cycle goroutine, and Config, NoteChanges, ForgetRender and
// ForceRebuild from its own (pipeline.Runner's locking rule).
type Pipeline interface {
	Config() *config.Config
	SetConfig(cfg *config.Config)
	NoteChanges(paths []string, rescan bool)
	ForgetRender()
	CheckManifests(ctx context.Context) error
	BuildAll(ctx context.Context, only []string, res *pipeline.Result) (map[string]string, error)
	Images() map[string]string
	Deploy(ctx context.Context, images map[string]string, res *pipeline.Result) error
	// ForceRebuild makes the next build of the artifact run even if its
	// image is already built and delivered (the dashboard's button).
	ForceRebuild(image string)
	// Sync copies an artifact's changed files into its running containers.
	Sync(ctx context.Context, a plan.ArtifactPlan) error
}

var _ Pipeline = (*pipeline.Runner)(nil)

// Watcher sends batches of file changes under roots to out until ctx ends;
// Ready is closed once every root is watched. watch.Watcher is one.
type Watcher interface {
	Run(ctx context.Context, roots []watch.Root, out chan<- watch.ChangeSet) error
	Ready() <-chan struct{}
}

var _ Watcher = (*watch.Watcher)(nil)

// Options configure a Loop.
type Options struct {
	// Load reloads devloop.yaml (with the same profiles) when it changes.
	Load func() (*config.Config, error)
	// Summary, when set, adds per-phase timings to each cycle's report.
	Summary Summarizer
	// Publish is called with the configuration in use and the objects of
	// the pass once the first pass ended (successfully or not: objs nil if
	// it did not render), after every reload, and after the first pass that
	// rendered when the last one published had not: the one reload path,
	// which the logs, port-forwards and the dashboard follow. It must not
	// block; may be nil.
	Publish func(cfg *config.Config, objs []*unstructured.Unstructured)
	// URLs returns the port-forward URLs for the cycle report; may be nil.
	URLs func() []string
	// OnIdle is called when a cycle ended and no work waits (the CLI
	// returns memory to the system); may be nil.
	OnIdle func()
	// NewWatcher makes the watcher of a configuration (with its quiet
	// period); nil means watch.New.
	NewWatcher func(log *zap.Logger, quiet time.Duration) Watcher
	// RetryBackoff is the first wait before a transient failure is retried
	// (doubling up to 30 s); default 1 s.
	RetryBackoff time.Duration
}

// Loop is one `devloop dev` session.
type Loop struct {
	log    *zap.Logger
	sink   events.Sink
	runner Pipeline
	opts   Options

	cycle    int
	layout   *plan.Layout      // cached for decide; nil means recompute
	deployed map[string]string // images of the last successful deploy

	// triggers carries the work asked for by Rebuild and Redeploy.
	triggers chan work
}

// New returns a Loop over a pipeline (a *pipeline.Runner).
func New(log *zap.Logger, sink events.Sink, runner Pipeline, opts Options) *Loop {
	if opts.NewWatcher == nil {
		opts.NewWatcher = func(log *zap.Logger, quiet time.Duration) Watcher {
			return watch.New(log, watch.Options{Quiet: quiet})
		}
	}
	if opts.RetryBackoff <= 0 {
		opts.RetryBackoff = time.Second
	}
	return &Loop{log: log, sink: sink, runner: runner, opts: opts, triggers: make(chan work, 8)}
}

// Rebuild asks for a cycle that builds and deploys the artifact now, even
// when its content did not change. Safe from any goroutine.
func (l *Loop) Rebuild(image string) error {
	known := false
	for _, a := range l.runner.Config().Build.Artifacts {
		known = known || a.Image == image
	}
	if !known {
		return fmt.Errorf("no artifact %q in devloop.yaml", image)
	}
	return l.trigger(work{rebuild: map[string]bool{image: true}, force: []string{image}, changes: []string{"(rebuild " + image + " asked for)"}})
}

// Redeploy asks for a cycle that renders, applies and waits now.
func (l *Loop) Redeploy() error {
	return l.trigger(work{redeploy: true, changes: []string{"(redeploy asked for)"}})
}

func (l *Loop) trigger(w work) error {
	select {
	case l.triggers <- w:
		return nil
	default:
		return fmt.Errorf("devloop is busy with earlier requests; try again in a moment")
	}
}

// work is what a cycle has to do; pending work merges.
type work struct {
	reload   bool
	rebuild  map[string]bool // images
	all      bool            // rebuild every artifact
	redeploy bool
	syncs    []plan.ArtifactPlan
	changes  []string
	force    []string // images to build even if already there
}

func (w *work) empty() bool {
	return !w.reload && !w.all && len(w.rebuild) == 0 && !w.redeploy && len(w.syncs) == 0
}

// heavy work cancels a cycle in flight; a sync alone waits for it.
func (w *work) heavy() bool { return w.reload || w.all || len(w.rebuild) > 0 || w.redeploy }

func (w *work) merge(o work) {
	w.reload = w.reload || o.reload
	w.all = w.all || o.all
	w.redeploy = w.redeploy || o.redeploy
	if w.rebuild == nil {
		w.rebuild = map[string]bool{}
	}
	for k := range o.rebuild {
		w.rebuild[k] = true
	}
	w.syncs = append(w.syncs, o.syncs...)
	w.changes = append(w.changes, o.changes...)
	w.force = append(w.force, o.force...)
}

// Start is Run: the loop is a component that runs until its context ends.
func (l *Loop) Start(ctx context.Context) error { return l.Run(ctx) }

// Run runs the loop until ctx is done: a first full pass, then one cycle
// per batch of changes. It returns nil when ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	changes := make(chan watch.ChangeSet, 16)
	stopWatch, err := l.startWatcher(ctx, changes)
	if err != nil {
		return err
	}
	defer func() { stopWatch() }()

	pending := work{all: true, redeploy: true, changes: []string{"(start)"}}
	var (
		running   context.CancelFunc
		done      = make(chan cycleResult, 1)
		retry     <-chan time.Time
		retryWork work
		backoff   = l.opts.RetryBackoff
		inFlight  work
		firstPass = true
		// rendered is whether a published pass had objects: until one
		// has, the next pass that renders is published too (a first pass
		// that failed to build left the logs, port-forwards and the
		// dashboard's table without the namespaces to look in).
		rendered = false
	)
	start := func() {
		if running != nil || pending.empty() {
			return
		}
		l.cycle++
		w := pending
		pending = work{}
		inFlight = w
		cctx, cancel := context.WithCancel(ctx)
		running = cancel
		n := l.cycle
		go func() { done <- l.runCycle(cctx, n, w) }()
	}
	start()
	for {
		select {
		case <-ctx.Done():
			if running != nil {
				running()
				<-done
			}
			return nil

		case cs := <-changes:
			w := l.decide(cs)
			if w.empty() {
				continue
			}
			pending.merge(w)
			if running != nil && w.heavy() {
				l.log.Debug("newer change: cancelling the cycle in flight")
				running()
			}
			start()

		case res := <-done:
			running = nil
			if res.reloaded != nil {
				stopWatch()
				if stopWatch, err = l.startWatcher(ctx, changes); err != nil {
					return err
				}
			}
			objs := res.result.Objects
			if (firstPass || res.reloaded != nil || (!rendered && len(objs) > 0)) && l.opts.Publish != nil {
				l.opts.Publish(l.runner.Config(), objs)
				rendered = len(objs) > 0
			}
			firstPass = false
			switch {
			case res.canceled && ctx.Err() == nil:
				// Superseded: redo its work together with the newer change.
				inFlight.syncs = nil
				pending.merge(inFlight)
			case res.err != nil && isTransient(res.err) && pending.empty():
				l.sink.Emit(events.Event{Phase: events.PhaseCycle, Status: events.StatusInfo,
					Message: fmt.Sprintf("the cluster or the engine did not answer; retrying in %s (or on the next change)", backoff)})
				retryWork = inFlight
				retryWork.syncs, retryWork.changes = nil, []string{"(retry)"}
				retry = time.After(backoff)
				backoff = min(backoff*2, 30*time.Second)
			case res.err == nil:
				backoff = l.opts.RetryBackoff
			}
			start()
			if running == nil && l.opts.OnIdle != nil {
				l.opts.OnIdle()
			}

		case w := <-l.triggers:
			for _, img := range w.force {
				l.runner.ForceRebuild(img)
			}
			pending.merge(w)
			if running != nil {
				running()
			}
			start()

		case <-retry:
			retry = nil
			pending.merge(retryWork)
			retryWork = work{}
			start()
		}
	}
}
