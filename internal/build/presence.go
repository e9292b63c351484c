package build

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
)

// ImageInspector is the part of the Docker Engine API presence checks use.
type ImageInspector interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
}

// ExistsInEngine reports whether ref (e.g. notes-web:TAG) is an image in the
// engine, so that an unchanged tag is not built again.
func ExistsInEngine(ctx context.Context, engine ImageInspector, ref string) (bool, error) {
	_, err := engine.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if client.IsErrNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("inspecting image %s: %w", ref, err)
}
