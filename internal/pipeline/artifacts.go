package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/registry"
)

// BuildAll hashes, builds and delivers the named artifacts (all when only is
// nil), concurrently, and returns the reference to deploy for every artifact
// of the configuration (earlier references for the ones not rebuilt).
func (r *Runner) BuildAll(ctx context.Context, only []string, res *Result) (map[string]string, error) {
	cfg := r.cfg
	if len(cfg.Build.Artifacts) > 0 && (r.builder == nil || r.deliverer == nil) {
		if err := r.connect(ctx); err != nil {
			return nil, err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Parallel)
	var mu sync.Mutex
	for _, a := range cfg.Build.Artifacts {
		if only != nil && !slices.Contains(only, a.Image) {
			continue
		}
		g.Go(func() error {
			built, delivered, err := r.buildArtifact(gctx, a)
			mu.Lock()
			if built {
				res.Built = append(res.Built, a.Image)
			}
			if delivered {
				res.Delivered = append(res.Delivered, a.Image)
			}
			mu.Unlock()
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return r.Images(), nil
}

// Images returns the references last built or found for each artifact.
func (r *Runner) Images() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.artifacts))
	for img, st := range r.artifacts {
		if st.ref != "" {
			out[img] = st.ref
		}
	}
	return out
}

// buildArtifact makes sure the image for the artifact's current content is
// where the cluster runs it: skipped when already there, built when in
// neither the engine nor the registry, delivered when missing in the cluster.
func (r *Runner) buildArtifact(ctx context.Context, a config.Artifact) (built, delivered bool, err error) {
	a = r.debugBuild(a)
	base := events.Event{Artifact: a.Image}

	choice := build.ResolvePlatforms(r.opts.Platforms, a.Platforms, r.cfg.Build.Platforms, r.cluster.Platforms)
	info := base
	info.Phase, info.Status, info.Message = events.PhasePlatforms, events.StatusInfo, strings.Join(choice.Platforms, ",")+" "+choice.Source
	r.sink.Emit(info)

	// Hash: the tag is the content.
	ht := events.Start(r.sink, withPhase(base, events.PhaseHash))
	sum, err := r.hash(ctx, a, buildcontext.Inputs{BuildArgs: a.BuildArgs, Target: a.Target, Platforms: choice.Platforms})
	if err != nil {
		ht.Fail(err)
		return false, false, fmt.Errorf("hashing %s: %w", a.Image, err)
	}
	tag := sum.Digest.Tag()
	r.mu.Lock()
	prev := *r.state(a.Image)
	r.mu.Unlock()
	reason := "first build in this session"
	if prev.tag != "" {
		reason = buildcontext.DiffSummary(prev.manifest, sum.Manifest, 5)
	}
	ht.Done(fmt.Sprintf("tag %s (%d files, %d read)", tag, sum.Manifest.Len(), sum.FilesRead))
	r.mu.Lock()
	force := prev.force
	r.state(a.Image).force = false
	r.mu.Unlock()
	if force {
		reason = "rebuild asked for"
	}
	if prev.tag == tag && !force {
		// Same content as what this session already deployed: nothing to do.
		r.remember(a.Image, tag, prev.ref, sum.Manifest)
		return false, false, nil
	}
	if len(a.Hooks.Before) > 0 {
		// Before-build hooks may write into the context (generated code):
		// the tag is what the context holds after them.
		if err := r.hooks.Run(ctx, "before build", a.Image, a.Hooks.Before, r.hookEnv(a.Image, tag, "")); err != nil {
			return false, false, fmt.Errorf("artifact %s: %w", a.Image, err)
		}
		r.mu.Lock()
		r.state(a.Image).rescan = true
		r.mu.Unlock()
		if sum, err = r.hash(ctx, a, buildcontext.Inputs{BuildArgs: a.BuildArgs, Target: a.Target, Platforms: choice.Platforms}); err != nil {
			return false, false, fmt.Errorf("hashing %s after its before-build hooks: %w", a.Image, err)
		}
		if tag = sum.Digest.Tag(); prev.tag == tag {
			r.remember(a.Image, tag, prev.ref, sum.Manifest)
			return false, false, nil
		}
	}

	builderName := r.cfg.Build.Builder
	if r.opts.Builder != "" {
		builderName = r.opts.Builder
	}
	// What the builder can do decides the output; its name and driver go
	// into the build events. Inspect is asked once per builder and session,
	// and makes sure a builder outside the engine answers (within a bound).
	binfo, err := r.builder.Inspect(ctx, builderName)
	if err != nil {
		return false, false, fmt.Errorf("artifact %s: %w", a.Image, err)
	}
	registry, registryFromCluster := r.cfg.Registry, r.cfg.Registry
	if r.cluster.Registry != "" {
		registry, registryFromCluster = r.cluster.Registry, r.cluster.RegistryFromCluster
		if registryFromCluster == "" {
			registryFromCluster = registry
		}
	}
	preferPush := r.opts.Push || r.cluster.Kind == deliver.KindRegistry
	output, err := build.PlanOutput(binfo, choice.Platforms, registry, preferPush)
	if err != nil {
		return false, false, fmt.Errorf("artifact %s: %w", a.Image, err)
	}

	req := build.Request{
		Image: a.Image, Tag: tag, Context: a.ContextDir, Dockerfile: a.DockerfilePath, Target: a.Target,
		BuildArgs: a.BuildArgs, Platforms: choice.Platforms, Builder: builderName, BuilderInfo: binfo,
		CacheFrom: a.CacheFrom, CacheTo: a.CacheTo, Output: output,
		Progress: r.opts.Progress, TTY: r.opts.TTY,
	}
	if output == build.OutputPush {
		req.PushRepo = registry + "/" + a.Image
		built, delivered, err = r.buildPushed(ctx, a, req, registryFromCluster, reason, sum.Manifest)
	} else {
		built, delivered, err = r.buildLoaded(ctx, a, req, reason, sum.Manifest, force)
	}
	if err == nil && built && len(a.Hooks.After) > 0 {
		env := r.hookEnv(a.Image, tag, r.Images()[a.Image])
		if herr := r.hooks.Run(ctx, "after build", a.Image, a.Hooks.After, env); herr != nil {
			return built, delivered, fmt.Errorf("artifact %s: %w", a.Image, herr)
		}
	}
	return built, delivered, err
}

// buildLoaded builds into the engine (unless the tag is there already) and
// delivers into the cluster (unless the cluster has it).
func (r *Runner) buildLoaded(ctx context.Context, a config.Artifact, req build.Request, reason string, m buildcontext.Manifest, force bool) (built, delivered bool, err error) {
	base := events.Event{Artifact: a.Image, Image: req.TagRef(), Builder: req.BuilderInfo.Name, Driver: req.BuilderInfo.Driver}
	ref := req.TagRef()

	present, err := r.deliverer.Present(ctx, ref)
	if registry.IsAccessError(err) {
		// A registry that refuses devloop's read would have every image
		// built and pushed again on every run: the user must log in.
		events.Start(r.sink, withPhase(base, events.PhaseBuild)).Fail(err)
		return false, false, fmt.Errorf("artifact %s: %w", a.Image, err)
	}
	if err != nil {
		r.log.Debug("presence check failed; delivering", zap.Error(err))
	}
	if present && !force {
		skip(r.sink, withPhase(base, events.PhaseBuild), ref+" is already in the cluster ("+r.deliverer.Method()+")")
		skip(r.sink, withPhase(base, events.PhaseDeliver), "already in the cluster")
		r.remember(a.Image, req.Tag, ref, m)
		return false, false, nil
	}

	bt := events.Start(r.sink, withPhase(base, events.PhaseBuild))
	inEngine, err := build.ExistsInEngine(ctx, r.engine, ref)
	if err != nil {
		bt.Fail(err)
		return false, false, err
	}
	if inEngine && !force {
		bt.Skip(ref + " is already in the engine")
	} else {
		if _, err := r.builder.Build(ctx, req); err != nil {
			bt.Fail(err)
			return false, false, err // a *build.BuildError names the image
		}
		bt.Done("built " + ref + " on " + req.BuilderInfo.Describe() + " (" + reason + ")")
		built = true
		r.mu.Lock()
		r.gone.noteBuilt(ref)
		r.mu.Unlock()
	}

	dt := events.Start(r.sink, withPhase(base, events.PhaseDeliver))
	rep, err := r.deliverer.Deliver(ctx, ref)
	if err != nil {
		dt.Fail(err)
		return built, false, fmt.Errorf("delivering %s: %w", ref, err)
	}
	fill := func(e *events.Event) { e.Bytes = rep.Bytes }
	if rep.Skipped {
		dt.Skip(rep.Message, fill)
	} else {
		dt.Done(rep.Method+": "+rep.Message, fill)
	}
	deployRef := ref
	if rep.Ref != "" {
		deployRef = rep.Ref
	}
	r.remember(a.Image, req.Tag, deployRef, m)
	return built, !rep.Skipped, nil
}

// buildPushed builds and pushes to the registry unless the registry has the
// tag already; the cluster then pulls by digest.
func (r *Runner) buildPushed(ctx context.Context, a config.Artifact, req build.Request, registryFromCluster, reason string, m buildcontext.Manifest) (built, delivered bool, err error) {
	tagRef := req.TagRef()
	base := events.Event{Artifact: a.Image, Image: tagRef, Builder: req.BuilderInfo.Name, Driver: req.BuilderInfo.Driver}
	bt := events.Start(r.sink, withPhase(base, events.PhaseBuild))
	digest, ok, err := r.registry.Exists(ctx, tagRef)
	if registry.IsAccessError(err) {
		// Not "absent": without a login every run would build and push
		// the unchanged image again.
		bt.Fail(err)
		return false, false, fmt.Errorf("artifact %s: %w", a.Image, err)
	}
	if err != nil {
		r.log.Debug("registry presence check failed; building", zap.Error(err))
	}
	if !ok {
		res, err := r.builder.Build(ctx, req)
		if err != nil {
			bt.Fail(err)
			return false, false, err // a *build.BuildError names the image
		}
		digest = res.Digest
		bt.Done("built and pushed " + tagRef + " for " + strings.Join(req.Platforms, ",") + " on " + req.BuilderInfo.Describe() + " (" + reason + ")")
		built = true
	} else {
		bt.Skip(tagRef + " is already in the registry")
	}
	ref := registryFromCluster + "/" + a.Image + ":" + req.Tag
	if digest != "" {
		ref = registryFromCluster + "/" + a.Image + "@" + digest
	}
	skip(r.sink, withPhase(events.Event{Artifact: a.Image, Image: ref}, events.PhaseDeliver),
		"the cluster pulls "+ref+" from the registry")
	r.remember(a.Image, req.Tag, ref, m)
	return built, false, nil
}

func (r *Runner) remember(image, tag, ref string, m buildcontext.Manifest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.state(image)
	st.tag, st.ref, st.manifest = tag, ref, m
}

// state returns the artifact's state, creating it; r.mu must be held.
func (r *Runner) state(image string) *artifactState {
	st := r.artifacts[image]
	if st == nil {
		st = &artifactState{}
		r.artifacts[image] = st
	}
	return st
}

// hash computes the artifact's content hash: patched from the last one with
// the paths changed since when it can, else by walking the context. Paths
// noted while hashing stay noted for the next time.
func (r *Runner) hash(ctx context.Context, a config.Artifact, in buildcontext.Inputs) (buildcontext.Result, error) {
	r.mu.Lock()
	st := r.state(a.Image)
	bc, prev, rescan := st.bc, st.hashed, st.rescan
	changed := make([]string, 0, len(st.changed))
	for p := range st.changed {
		changed = append(changed, p)
		if strings.HasSuffix(p, ".dockerignore") {
			bc = nil // the ignore rules changed: reload them
		}
	}
	r.mu.Unlock()

	var err error
	if bc == nil {
		if bc, err = buildcontext.Load(a.ContextDir, a.DockerfilePath); err != nil {
			return buildcontext.Result{}, err
		}
		prev = nil
	}
	var sum buildcontext.Result
	if prev != nil && !rescan {
		sum, err = r.hasher.Update(ctx, bc, *prev, changed, in)
	} else {
		sum, err = r.hasher.Hash(ctx, bc, in)
	}
	if err != nil {
		return sum, err
	}
	r.mu.Lock()
	st.bc, st.hashed, st.rescan = bc, &sum, false
	for _, p := range changed {
		delete(st.changed, p)
	}
	r.mu.Unlock()
	return sum, nil
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
