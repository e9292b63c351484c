package pipeline

import (
	"context"
	"fmt"

	"github.com/devloop-dev/devloop/internal/plan"
)

// CheckManifests renders every source once before any build, so that a
// broken overlay or chart fails in milliseconds rather than after the
// builds; the kustomize output is kept for the deploy.
func (r *Runner) CheckManifests(ctx context.Context) error {
	return r.renderer.Check(ctx, r.cfg, r.builder.Images())
}

// BuildAll hashes, builds and delivers the named artifacts (all when only is
// nil), concurrently, and returns the reference to deploy for every artifact
// of the configuration (earlier references for the ones not rebuilt).
func (r *Runner) BuildAll(ctx context.Context, only []string, res *Result) (map[string]string, error) {
	cfg := r.cfg
	if len(cfg.Build.Artifacts) > 0 && r.engine.kind == nil {
		if err := r.connect(ctx); err != nil {
			return nil, err
		}
	}
	outs, err := r.builder.BuildAll(ctx, cfg, r.engine.kind, only)
	for _, o := range outs {
		if o.Built {
			res.Built = append(res.Built, o.Image)
		}
		if o.Delivered {
			res.Delivered = append(res.Delivered, o.Image)
		}
		if o.EngineRef != "" {
			r.gone.noteBuilt(o.EngineRef)
		}
	}
	if err != nil {
		return nil, err
	}
	return r.builder.Images(), nil
}

// Images returns the references last built or found for each artifact.
func (r *Runner) Images() map[string]string { return r.builder.Images() }

// Deploy renders, transforms, applies, prunes and waits, with the deploy
// hooks around.
func (r *Runner) Deploy(ctx context.Context, images map[string]string, res *Result) error {
	cfg := r.cfg
	rd, err := r.renderer.Render(ctx, cfg, images)
	if err != nil {
		return err
	}
	r.env.setAppNamespace(rd.Namespace())
	// The one point where the rendered objects change before the apply.
	for _, t := range r.transforms {
		if err := t.Transform(ctx, cfg, images, rd.Objects); err != nil {
			return err
		}
	}
	res.Objects = rd.All()
	if hs := cfg.Deploy.Hooks.Before; len(hs) > 0 {
		if err := r.hooks.Run(ctx, "before deploy", "", hs, r.env.env("", "", "")); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}
	dr, err := r.deployer.Deploy(ctx, cfg, rd)
	res.Objects, res.Apply, res.Pruned = dr.Objects, dr.Apply, dr.Pruned
	if err != nil {
		return err
	}
	if r.opts.Mode == ModeDev && r.engine.client != nil {
		r.gone.removeLater(ctx, r.engine.client, images)
	}
	if hs := cfg.Deploy.Hooks.After; len(hs) > 0 {
		if err := r.hooks.Run(ctx, "after deploy", "", hs, r.env.env("", "", "")); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}
	return nil
}

// Sync copies an artifact's changed files into its running containers
// (the dev loop, between passes).
func (r *Runner) Sync(ctx context.Context, a plan.ArtifactPlan) error {
	return r.syncer.Sync(ctx, r.Config(), a)
}
