package deliver

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/docker"
)

// ImageStoreError says that an image cannot be imported from the engine's
// image store for the platform the nodes run, and what to do about it.
type ImageStoreError struct {
	Ref      string
	Platform string
	Store    docker.ImageStore
	Err      error
}

func (e *ImageStoreError) Error() string {
	if e.Store.Containerd {
		return fmt.Sprintf("%s cannot be imported for %s: %s holds the image's index but not the %s content "+
			"(it keeps only the platforms that were pulled or built, and `docker save` names them all). "+
			"Build the image for %s (devloop builds for the nodes' platform unless --platform or build.platforms says otherwise), "+
			"or `docker pull --platform %s` it, or set registry in devloop.yaml to push it: %v",
			e.Ref, e.Platform, e.Store, e.Platform, e.Platform, e.Platform, e.Err)
	}
	return fmt.Sprintf("%s cannot be imported for %s from %s: %v", e.Ref, e.Platform, e.Store, e.Err)
}

func (e *ImageStoreError) Unwrap() error { return e.Err }

// export is what one delivery streams out of the engine: the image, the one
// platform the nodes import from the archive, and the engine's store.
type export struct {
	ref      string
	platform string
	// id is the engine's image ID: the config digest on the graph-driver
	// store, the index or manifest digest on the containerd store.
	id    string
	store docker.ImageStore
}

// importArgs are the `ctr images import` arguments for the archive on
// stdin. One platform only: an archive from the containerd image store names
// every platform of the index and carries the blobs of some (--all-platforms
// then fails with "content digest not found"), and attestation manifests
// (platform unknown/unknown) are not unpacked.
func (x export) importArgs() []string {
	return []string{"images", "import", "--platform", x.platform, "-"}
}

// importError turns ctr's "content digest ... not found" into an
// *ImageStoreError naming the engine's store.
func (x export) importError(err error, stderr string) error {
	if missingContent(stderr) || missingContent(err.Error()) {
		return &ImageStoreError{Ref: x.ref, Platform: x.platform, Store: x.store, Err: err}
	}
	return err
}

func missingContent(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "content digest") && strings.Contains(msg, "not found")
}

// exporter plans exports: it asks the engine for its image store once and
// for each image's platform.
type exporter struct {
	engine Engine
	// nodePlatforms are the platforms of the cluster's Ready nodes.
	nodePlatforms []string
	// contentAddr is the engine's containerd socket the user gave
	// (EngineContainerdEnv), tried after what the engine reports.
	contentAddr string

	mu           sync.Mutex
	store        *docker.ImageStore
	content      *engineContent
	contentTried bool
}

func (e *exporter) imageStore(ctx context.Context) (docker.ImageStore, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store != nil {
		return *e.store, nil
	}
	s, err := docker.DetectImageStore(ctx, e.engine)
	if err != nil {
		return docker.ImageStore{}, err
	}
	e.store = &s
	return s, nil
}

// plan picks the platform to import. The graph-driver store holds one
// platform per image: that one. The containerd store may hold several, or
// name platforms it lacks: the nodes' platform when the cluster has one,
// else the platform the engine reports for the image.
func (e *exporter) plan(ctx context.Context, ref string) (export, error) {
	store, err := e.imageStore(ctx)
	if err != nil {
		return export{}, err
	}
	insp, err := e.engine.ImageInspect(ctx, ref)
	if err != nil {
		return export{}, fmt.Errorf("inspecting %s in %s: %w", ref, store, err)
	}
	own := build.NormalizePlatform(strings.Join(nonEmpty(insp.Os, insp.Architecture, insp.Variant), "/"))
	x := export{ref: ref, platform: own, id: insp.ID, store: store}
	if store.Containerd && len(e.nodePlatforms) == 1 {
		x.platform = e.nodePlatforms[0]
	}
	if x.platform == "" {
		return export{}, fmt.Errorf("%s in %s reports no platform (os %q, architecture %q)", ref, store, insp.Os, insp.Architecture)
	}
	return x, nil
}

func nonEmpty(parts ...string) []string {
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// sameImage reports whether the image a containerd names target is the
// engine's image. On the containerd store the engine's ID is the index (or
// manifest) digest, which ctr keeps as the target of what it imports: a
// different target is another image under the same tag. On the graph-driver
// store the ID is the config digest, which no target equals (ctr writes a
// manifest for the archive's config): the name has to do.
func sameImage(x export, target string) bool {
	return x.id == "" || target == "" || !x.store.Containerd || x.id == target
}
