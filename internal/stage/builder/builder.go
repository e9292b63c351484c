// Package builder is the build stage: artifacts in, images where the
// cluster runs them out. It hashes each artifact's context (the tag is the
// content), decides whether the image must be made at all, runs the
// artifact's build hooks, and hands the build to a Kind: buildx today; a
// custom command or ko would be one more Kind.
package builder

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/fspath"
	"github.com/devloop-dev/devloop/internal/hooks"
)

// Kind makes the image of one artifact for a content tag and puts it where
// the cluster runs it, skipping what is already there.
type Kind interface {
	Build(ctx context.Context, j Job) (Outcome, error)
}

// Job is one image to make.
type Job struct {
	Config    *config.Config
	Artifact  config.Artifact
	Tag       string   // the content tag
	Platforms []string // resolved
	Reason    string   // why it is built, for the build event
	Force     bool     // build even when the image is already there
}

// Outcome is what a Kind did for a Job.
type Outcome struct {
	Image string // the artifact's image name
	// Ref is the reference the cluster runs.
	Ref string
	// Built and Delivered say whether the image was built and moved.
	Built, Delivered bool
	// EngineRef is the engine's reference of an image built into the
	// engine (what removing superseded images may remove).
	EngineRef string
}

// Hooks runs an artifact's build hooks (hooks.Runner).
type Hooks interface {
	Run(ctx context.Context, stage, artifact string, hs []config.Hook, env hooks.Env) error
}

// Options tune the stage.
type Options struct {
	// Platforms overrides every artifact's platforms (--platform).
	Platforms []string
	// NodePlatforms are the cluster nodes' platforms (the default).
	NodePlatforms []string
	// Parallel bounds concurrent builds (default 2).
	Parallel int
	// Env is the environment of a hook for image, tag and ref.
	Env func(image, tag, ref string) hooks.Env
	// Adjust, when set, changes an artifact before it is hashed and built
	// (debug builds get their build argument).
	Adjust func(cfg *config.Config, a config.Artifact) config.Artifact
}

// Stage builds artifacts and remembers, between passes, what it built.
// Its methods are safe from any goroutine.
type Stage struct {
	log    *zap.Logger
	sink   events.Sink
	hooks  Hooks
	opts   Options
	hasher *buildcontext.Hasher

	mu        sync.Mutex
	artifacts map[string]*artifactState // by image name
}

// artifactState is what the stage knows of an artifact from earlier passes.
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

// New returns a build stage.
func New(log *zap.Logger, sink events.Sink, h Hooks, opts Options) *Stage {
	if opts.Parallel <= 0 {
		opts.Parallel = 2
	}
	if opts.Env == nil {
		opts.Env = func(image, tag, ref string) hooks.Env { return hooks.Env{Image: image, Tag: tag, ImageRef: ref} }
	}
	return &Stage{log: log, sink: sink, hooks: h, opts: opts, hasher: buildcontext.NewHasher(), artifacts: map[string]*artifactState{}}
}

// BuildAll hashes and builds with k the named artifacts of cfg (all when
// only is nil), concurrently, and returns what was done for each.
func (s *Stage) BuildAll(ctx context.Context, cfg *config.Config, k Kind, only []string) ([]Outcome, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.Parallel)
	var mu sync.Mutex
	var out []Outcome
	for _, a := range cfg.Build.Artifacts {
		if only != nil && !slices.Contains(only, a.Image) {
			continue
		}
		g.Go(func() error {
			o, err := s.Build(gctx, cfg, k, a)
			mu.Lock()
			out = append(out, o)
			mu.Unlock()
			return err
		})
	}
	err := g.Wait()
	return out, err
}

// Images returns the references last built or found for each artifact.
func (s *Stage) Images() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.artifacts))
	for img, st := range s.artifacts {
		if st.ref != "" {
			out[img] = st.ref
		}
	}
	return out
}

// Tag is the content tag last built or found for image.
func (s *Stage) Tag(image string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state(image).tag
}

// Retain forgets the artifacts not in cfg (a reload removed them).
func (s *Stage) Retain(cfg *config.Config) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keep := map[string]bool{}
	for _, a := range cfg.Build.Artifacts {
		keep[a.Image] = true
	}
	for img := range s.artifacts {
		if !keep[img] {
			delete(s.artifacts, img)
		}
	}
}

// ForceRebuild makes the next build of image run even when its tag is
// already built and delivered.
func (s *Stage) ForceRebuild(image string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state(image).force = true
}

// NoteChanges records paths changed since the last hash, so the next hash
// of an artifact of cfg only looks at those. rescan means events were
// lost: the next hashes walk the whole contexts.
func (s *Stage) NoteChanges(cfg *config.Config, paths []string, rescan bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range cfg.Build.Artifacts {
		st := s.artifacts[a.Image]
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

// Platform is the platform the artifact's image is built for (the first of
// its platforms, the nodes' by default). Empty for an unknown artifact.
func (s *Stage) Platform(cfg *config.Config, image string) string {
	for _, a := range cfg.Build.Artifacts {
		if a.Image == image {
			choice := build.ResolvePlatforms(s.opts.Platforms, a.Platforms, cfg.Build.Platforms, s.opts.NodePlatforms)
			if len(choice.Platforms) > 0 {
				return choice.Platforms[0]
			}
		}
	}
	return ""
}

// BuildSupport builds with k an image that is not an artifact of cfg
// (devloop's helper) like an artifact, content-hashed and skipped when
// present, and returns the reference the cluster runs; it is not
// remembered among the artifacts.
func (s *Stage) BuildSupport(ctx context.Context, cfg *config.Config, k Kind, a config.Artifact) (string, error) {
	o, err := s.Build(ctx, cfg, k, a)
	s.mu.Lock()
	delete(s.artifacts, a.Image)
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	if o.Ref == "" {
		return "", fmt.Errorf("the image %s has no reference after its build", a.Image)
	}
	return o.Ref, nil
}

// Build makes sure the image for the artifact's current content is where
// the cluster runs it: nothing to do when this stage deployed that content
// already, else the before-build hooks, the Kind and the after-build hooks.
func (s *Stage) Build(ctx context.Context, cfg *config.Config, k Kind, a config.Artifact) (Outcome, error) {
	if s.opts.Adjust != nil {
		a = s.opts.Adjust(cfg, a)
	}
	none := Outcome{Image: a.Image}
	choice := build.ResolvePlatforms(s.opts.Platforms, a.Platforms, cfg.Build.Platforms, s.opts.NodePlatforms)
	s.sink.Emit(events.Event{Artifact: a.Image, Phase: events.PhasePlatforms, Status: events.StatusInfo,
		Message: strings.Join(choice.Platforms, ",") + " " + choice.Source})
	in := buildcontext.Inputs{BuildArgs: a.BuildArgs, Target: a.Target, Platforms: choice.Platforms}

	// Hash: the tag is the content.
	ht := events.Start(s.sink, events.Event{Artifact: a.Image, Phase: events.PhaseHash})
	sum, err := s.hash(ctx, a, in)
	if err != nil {
		ht.Fail(err)
		return none, fmt.Errorf("hashing %s: %w", a.Image, err)
	}
	tag := sum.Digest.Tag()
	s.mu.Lock()
	prev := *s.state(a.Image)
	s.state(a.Image).force = false
	s.mu.Unlock()
	reason := "first build in this session"
	if prev.tag != "" {
		reason = buildcontext.DiffSummary(prev.manifest, sum.Manifest, 5)
	}
	ht.Done(fmt.Sprintf("tag %s (%d files, %d read)", tag, sum.Manifest.Len(), sum.FilesRead))
	if prev.force {
		reason = "rebuild asked for"
	}
	unchanged := Outcome{Image: a.Image, Ref: prev.ref}
	if prev.tag == tag && !prev.force {
		// Same content as what this stage already deployed: nothing to do.
		s.remember(a.Image, tag, prev.ref, sum.Manifest)
		return unchanged, nil
	}
	if len(a.Hooks.Before) > 0 {
		// Before-build hooks may write into the context (generated code):
		// the tag is what the context holds after them.
		if err := s.hooks.Run(ctx, "before build", a.Image, a.Hooks.Before, s.opts.Env(a.Image, tag, "")); err != nil {
			return none, fmt.Errorf("artifact %s: %w", a.Image, err)
		}
		s.mu.Lock()
		s.state(a.Image).rescan = true
		s.mu.Unlock()
		if sum, err = s.hash(ctx, a, in); err != nil {
			return none, fmt.Errorf("hashing %s after its before-build hooks: %w", a.Image, err)
		}
		if tag = sum.Digest.Tag(); prev.tag == tag {
			s.remember(a.Image, tag, prev.ref, sum.Manifest)
			return unchanged, nil
		}
	}

	o, err := k.Build(ctx, Job{Config: cfg, Artifact: a, Tag: tag, Platforms: choice.Platforms, Reason: reason, Force: prev.force})
	o.Image = a.Image
	if err != nil {
		return o, err
	}
	s.remember(a.Image, tag, o.Ref, sum.Manifest)
	if o.Built && len(a.Hooks.After) > 0 {
		if herr := s.hooks.Run(ctx, "after build", a.Image, a.Hooks.After, s.opts.Env(a.Image, tag, o.Ref)); herr != nil {
			return o, fmt.Errorf("artifact %s: %w", a.Image, herr)
		}
	}
	return o, nil
}

func (s *Stage) remember(image, tag, ref string, m buildcontext.Manifest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.state(image)
	st.tag, st.ref, st.manifest = tag, ref, m
}

// state returns the artifact's state, creating it; s.mu must be held.
func (s *Stage) state(image string) *artifactState {
	st := s.artifacts[image]
	if st == nil {
		st = &artifactState{}
		s.artifacts[image] = st
	}
	return st
}
