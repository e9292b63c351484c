package pipeline

import (
	"context"
	"fmt"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
)

// ContentRefs returns the references the artifacts would get from their
// current content, without building: IMAGE:TAG, or REGISTRY/IMAGE:TAG when a
// registry is configured. nodePlatforms are the cluster's (nil when there is
// no cluster to ask).
func ContentRefs(ctx context.Context, cfg *config.Config, platforms, nodePlatforms []string) (map[string]string, error) {
	h := buildcontext.NewHasher()
	refs := make(map[string]string, len(cfg.Build.Artifacts))
	for _, a := range cfg.Build.Artifacts {
		choice := build.ResolvePlatforms(platforms, a.Platforms, cfg.Build.Platforms, nodePlatforms)
		bc, err := buildcontext.Load(a.ContextDir, a.DockerfilePath)
		if err != nil {
			return nil, fmt.Errorf("artifact %s: %w", a.Image, err)
		}
		sum, err := h.Hash(ctx, bc, buildcontext.Inputs{BuildArgs: a.BuildArgs, Target: a.Target, Platforms: choice.Platforms})
		if err != nil {
			return nil, fmt.Errorf("hashing %s: %w", a.Image, err)
		}
		name := a.Image
		if cfg.Registry != "" {
			name = cfg.Registry + "/" + a.Image
		}
		refs[a.Image] = name + ":" + sum.Digest.Tag()
	}
	return refs, nil
}
