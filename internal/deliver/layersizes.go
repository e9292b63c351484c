package deliver

import (
	"context"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/devloop-dev/devloop/internal/registry"
)

// layerSizes maps the short IDs the engine's push progress uses (the first
// 12 hex digits of a layer's digest) to the layers' sizes in the pushed
// manifest (every child manifest of an index): the bytes of a layer that
// was pushed without progress lines (the containerd image store reports
// small layers only as "Pushed").
func layerSizes(ctx context.Context, reg *registry.Client, ref string) (map[string]int64, error) {
	desc, err := reg.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	addImage := func(img v1.Image) error {
		m, err := img.Manifest()
		if err != nil {
			return err
		}
		for _, l := range append([]v1.Descriptor{m.Config}, m.Layers...) {
			if len(l.Digest.Hex) >= 12 {
				out[l.Digest.Hex[:12]] = l.Size
			}
		}
		return nil
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		for _, child := range im.Manifests {
			if !child.MediaType.IsImage() {
				continue
			}
			img, err := idx.Image(child.Digest)
			if err != nil {
				return nil, err
			}
			if err := addImage(img); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil, err
	}
	return out, addImage(img)
}
