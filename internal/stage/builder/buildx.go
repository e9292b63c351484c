package builder

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/registry"
)

// Delivery puts an image built into the engine where the cluster runs it
// (the delivery stage).
type Delivery interface {
	Present(ctx context.Context, ref string) (bool, error)
	Deliver(ctx context.Context, base events.Event, ref string) (string, bool, error)
	Method() string
}

// Buildxer is what Buildx runs builds with (build.Builder).
type Buildxer interface {
	Inspect(ctx context.Context, name string) (build.BuilderInfo, error)
	Build(ctx context.Context, req build.Request) (build.Result, error)
}

// Registry answers whether a pushed image is there (registry.Client).
type Registry interface {
	Exists(ctx context.Context, ref string) (digest string, ok bool, err error)
}

// BuildxOptions tune the buildx Kind.
type BuildxOptions struct {
	// Builder overrides build.builder (--builder).
	Builder string
	// Push pushes images to the registry even for one platform.
	Push bool
	// Progress receives buildx's output; TTY asks for its interactive display.
	Progress io.Writer
	TTY      bool
	// Cluster is the detected cluster: its registry and kind decide
	// between loading and pushing.
	Cluster deliver.Cluster
}

// Buildx is the Kind that builds with docker buildx: into the engine, then
// delivered, or pushed to the registry the cluster pulls from.
type Buildx struct {
	log      *zap.Logger
	sink     events.Sink
	buildx   Buildxer
	engine   build.ImageInspector
	registry Registry
	delivery Delivery
	opts     BuildxOptions
}

var _ Kind = (*Buildx)(nil)

// NewBuildx returns the buildx Kind.
func NewBuildx(log *zap.Logger, sink events.Sink, bx Buildxer, engine build.ImageInspector, reg Registry, d Delivery, opts BuildxOptions) *Buildx {
	return &Buildx{log: log, sink: sink, buildx: bx, engine: engine, registry: reg, delivery: d, opts: opts}
}

// Build builds and delivers j's image, or pushes it, skipping what is there.
func (b *Buildx) Build(ctx context.Context, j Job) (Outcome, error) {
	a, cfg := j.Artifact, j.Config
	builderName := cfg.Build.Builder
	if b.opts.Builder != "" {
		builderName = b.opts.Builder
	}
	// What the builder can do decides the output; its name and driver go
	// into the build events. Inspect is asked once per builder and session,
	// and makes sure a builder outside the engine answers (within a bound).
	binfo, err := b.buildx.Inspect(ctx, builderName)
	if err != nil {
		return Outcome{}, fmt.Errorf("artifact %s: %w", a.Image, err)
	}
	reg, regFromCluster := cfg.Registry, cfg.Registry
	if cl := b.opts.Cluster; cl.Registry != "" {
		reg, regFromCluster = cl.Registry, cl.RegistryFromCluster
		if regFromCluster == "" {
			regFromCluster = reg
		}
	}
	preferPush := b.opts.Push || b.opts.Cluster.Kind == deliver.KindRegistry
	output, err := build.PlanOutput(binfo, j.Platforms, reg, preferPush)
	if err != nil {
		return Outcome{}, fmt.Errorf("artifact %s: %w", a.Image, err)
	}
	req := build.Request{
		Image: a.Image, Tag: j.Tag, Context: a.ContextDir, Dockerfile: a.DockerfilePath, Target: a.Target,
		BuildArgs: a.BuildArgs, Platforms: j.Platforms, Builder: builderName, BuilderInfo: binfo,
		CacheFrom: a.CacheFrom, CacheTo: a.CacheTo, Output: output,
		Progress: b.opts.Progress, TTY: b.opts.TTY,
	}
	if output == build.OutputPush {
		req.PushRepo = reg + "/" + a.Image
		return b.pushed(ctx, j, req, regFromCluster)
	}
	return b.loaded(ctx, j, req)
}

// loaded builds into the engine (unless the tag is there already) and
// delivers into the cluster (unless the cluster has it).
func (b *Buildx) loaded(ctx context.Context, j Job, req build.Request) (Outcome, error) {
	a := j.Artifact
	ref := req.TagRef()
	base := events.Event{Artifact: a.Image, Image: ref, Builder: req.BuilderInfo.Name, Driver: req.BuilderInfo.Driver}
	out := Outcome{}

	present, err := b.delivery.Present(ctx, ref)
	if registry.IsAccessError(err) {
		// A registry that refuses devloop's read would have every image
		// built and pushed again on every run: the user must log in.
		events.Start(b.sink, withPhase(base, events.PhaseBuild)).Fail(err)
		return out, fmt.Errorf("artifact %s: %w", a.Image, err)
	}
	if err != nil {
		b.log.Debug("presence check failed; delivering", zap.Error(err))
	}
	if present && !j.Force {
		skip(b.sink, withPhase(base, events.PhaseBuild), ref+" is already in the cluster ("+b.delivery.Method()+")")
		skip(b.sink, withPhase(base, events.PhaseDeliver), "already in the cluster")
		out.Ref = ref
		return out, nil
	}

	bt := events.Start(b.sink, withPhase(base, events.PhaseBuild))
	inEngine, err := build.ExistsInEngine(ctx, b.engine, ref)
	if err != nil {
		bt.Fail(err)
		return out, err
	}
	if inEngine && !j.Force {
		bt.Skip(ref + " is already in the engine")
	} else {
		if _, err := b.buildx.Build(ctx, req); err != nil {
			bt.Fail(err)
			return out, err // a *build.BuildError names the image
		}
		bt.Done("built " + ref + " on " + req.BuilderInfo.Describe() + " (" + j.Reason + ")")
		out.Built, out.EngineRef = true, ref
	}

	deployRef, delivered, err := b.delivery.Deliver(ctx, base, ref)
	if err != nil {
		return out, err
	}
	out.Ref, out.Delivered = deployRef, delivered
	return out, nil
}

// pushed builds and pushes to the registry unless the registry has the
// tag already; the cluster then pulls by digest.
func (b *Buildx) pushed(ctx context.Context, j Job, req build.Request, regFromCluster string) (Outcome, error) {
	a := j.Artifact
	tagRef := req.TagRef()
	base := events.Event{Artifact: a.Image, Image: tagRef, Builder: req.BuilderInfo.Name, Driver: req.BuilderInfo.Driver}
	out := Outcome{}
	bt := events.Start(b.sink, withPhase(base, events.PhaseBuild))
	digest, ok, err := b.registry.Exists(ctx, tagRef)
	if registry.IsAccessError(err) {
		// Not "absent": without a login every run would build and push
		// the unchanged image again.
		bt.Fail(err)
		return out, fmt.Errorf("artifact %s: %w", a.Image, err)
	}
	if err != nil {
		b.log.Debug("registry presence check failed; building", zap.Error(err))
	}
	if !ok {
		res, err := b.buildx.Build(ctx, req)
		if err != nil {
			bt.Fail(err)
			return out, err // a *build.BuildError names the image
		}
		digest = res.Digest
		bt.Done("built and pushed " + tagRef + " for " + strings.Join(req.Platforms, ",") + " on " + req.BuilderInfo.Describe() + " (" + j.Reason + ")")
		out.Built = true
	} else {
		bt.Skip(tagRef + " is already in the registry")
	}
	out.Ref = regFromCluster + "/" + a.Image + ":" + req.Tag
	if digest != "" {
		out.Ref = regFromCluster + "/" + a.Image + "@" + digest
	}
	skip(b.sink, withPhase(events.Event{Artifact: a.Image, Image: out.Ref}, events.PhaseDeliver),
		"the cluster pulls "+out.Ref+" from the registry")
	return out, nil
}

// skip reports a phase that had nothing to do.
func skip(s events.Sink, e events.Event, message string) {
	e.Time, e.Status, e.Message = time.Now(), events.StatusSkipped, message
	s.Emit(e)
}

func withPhase(e events.Event, phase string) events.Event {
	e.Phase = phase
	return e
}
