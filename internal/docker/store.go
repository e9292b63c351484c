package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/system"
)

// snapshotterDriverType is what `docker info` reports as the driver-type of
// an engine that keeps images in containerd (Engine 24+ with the
// containerd-snapshotter feature; the default of Docker Desktop's new
// installs and of Engine 29).
const snapshotterDriverType = "io.containerd.snapshotter.v1"

// ImageStore says how an engine stores images, which decides what an export
// of an image holds and what its ID is.
//
// The graph-driver store (overlay2, Engine 20.10 and every engine without
// the containerd snapshotter) keeps one platform per image; `docker save`
// writes that platform only and the image ID is the config digest. The
// containerd image store keeps the whole index of a multi-platform image but
// only the platforms that were pulled or built; `docker save` names every
// platform of the index while carrying only the blobs it has, buildx
// --load may add attestation manifests, and the image ID is the digest of
// the index (or manifest).
type ImageStore struct {
	// Containerd is true for the containerd image store.
	Containerd bool
	// Driver is the storage driver or snapshotter (overlay2, overlayfs).
	Driver string
	// EngineVersion is the engine's version, e.g. 26.1.5.
	EngineVersion string
}

// String names the store for messages, e.g. "the containerd image store
// (snapshotter overlayfs) of Docker Engine 26.1.5".
func (s ImageStore) String() string {
	kind := "graph-driver image store (storage driver " + s.Driver + ")"
	if s.Containerd {
		kind = "containerd image store (snapshotter " + s.Driver + ")"
	}
	if s.EngineVersion == "" {
		return "the " + kind
	}
	return "the " + kind + " of Docker Engine " + s.EngineVersion
}

// Informer is the part of the Docker Engine API DetectImageStore uses.
type Informer interface {
	Info(ctx context.Context) (system.Info, error)
}

// DetectImageStore asks the engine which image store it uses.
func DetectImageStore(ctx context.Context, engine Informer) (ImageStore, error) {
	info, err := engine.Info(ctx)
	if err != nil {
		return ImageStore{}, fmt.Errorf("asking the engine which image store it uses: %w", err)
	}
	return StoreOf(info), nil
}

// StoreOf reads the image store from the engine's info.
func StoreOf(info system.Info) ImageStore {
	s := ImageStore{Driver: info.Driver, EngineVersion: info.ServerVersion}
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && kv[1] == snapshotterDriverType {
			s.Containerd = true
		}
	}
	return s
}
