package renderer

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/kustomize"
)

// Kustomize is the Source of the kustomize overlay. It keeps the overlay's
// output between passes until Forget (the dev loop calls it when a file
// under the manifests changed), so a pass that changed only images does not
// read the files again.
type Kustomize struct {
	scope deploy.ScopeFunc

	mu       sync.Mutex
	kept     []*unstructured.Unstructured // before devloop's changes
	keptPath string
	gen      uint64 // bumped by Forget
}

var _ Source = (*Kustomize)(nil)

// NewKustomize returns the kustomize Source; scope tells which kinds are
// namespaced (the cluster's discovery, for custom kinds).
func NewKustomize(scope deploy.ScopeFunc) *Kustomize {
	return &Kustomize{scope: scope}
}

// Check builds the overlay (and keeps its output for the pass).
func (k *Kustomize) Check(ctx context.Context, cfg *config.Config, _ map[string]string) error {
	if cfg.Deploy.Kustomize.Dir == "" {
		return nil
	}
	if _, _, err := k.build(ctx, cfg.Deploy.Kustomize.Dir); err != nil {
		return &InputError{Err: err}
	}
	return nil
}

// Render adds the overlay's objects with the images set, devloop's labels
// and the namespace override.
func (k *Kustomize) Render(ctx context.Context, cfg *config.Config, images map[string]string, into *Rendered) (bool, error) {
	if cfg.Deploy.Kustomize.Dir == "" {
		return false, nil
	}
	opts := deploy.RenderOptions{
		Path: cfg.Deploy.Kustomize.Dir, Images: images, Namespace: cfg.Deploy.Namespace,
		ConfigName: cfg.Metadata.Name, Scope: k.scope, ImagePullSecrets: cfg.Deploy.ImagePullSecrets,
	}
	objs, cached, err := k.build(ctx, opts.Path)
	if err == nil {
		if err = deploy.Transform(objs, opts); err != nil {
			err = fmt.Errorf("rendering kustomization %s: %w", opts.Path, err)
		}
	}
	if err != nil {
		return false, &InputError{Err: err}
	}
	into.Objects = objs
	return cached, nil
}

// Forget drops the kept output.
func (k *Kustomize) Forget() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.kept, k.keptPath = nil, ""
	k.gen++
}

// build returns a fresh copy of the kustomize output for path: built, or
// the copy kept since the last Forget.
func (k *Kustomize) build(ctx context.Context, path string) (objs []*unstructured.Unstructured, cached bool, err error) {
	k.mu.Lock()
	kept, keptPath, gen := k.kept, k.keptPath, k.gen
	k.mu.Unlock()
	if kept == nil || keptPath != path {
		if kept, err = kustomize.Build(ctx, path); err != nil {
			return nil, false, err
		}
		k.mu.Lock()
		// A manifest that changed while kustomize read the files makes
		// this output stale: used once, never kept.
		if k.gen == gen {
			k.kept, k.keptPath = kept, path
		}
		k.mu.Unlock()
	} else {
		cached = true
	}
	objs = make([]*unstructured.Unstructured, len(kept))
	for i, u := range kept {
		objs[i] = u.DeepCopy()
	}
	return objs, cached, nil
}
