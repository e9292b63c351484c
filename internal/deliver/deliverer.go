package deliver

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/registry"
)

// Deliverer gets an image from the engine to where the cluster runs it.
type Deliverer interface {
	// Deliver makes ref (an image in the engine, e.g. notes-web:TAG)
	// runnable by the cluster. Images already there are skipped.
	Deliver(ctx context.Context, ref string) (Report, error)
	// Present reports whether ref is already where the cluster runs it.
	Present(ctx context.Context, ref string) (bool, error)
	// Method names the delivery path for messages.
	Method() string
}

// Report is what one delivery did.
type Report struct {
	// Ref is the reference the cluster must use: the same name:tag for
	// imports, REGISTRY/NAME@sha256:... for pushes.
	Ref string
	// Method is the delivery path ("containerd import", "kind node import", ...).
	Method string
	// Skipped is true when the image was already present and nothing moved.
	Skipped bool
	// Bytes is how many bytes were sent (image archive bytes for imports,
	// layer bytes for pushes).
	Bytes int64
	// Duration is the wall time of the delivery.
	Duration time.Duration
	// Message explains the outcome for the user.
	Message string
}

// Engine is the part of the Docker Engine API delivery uses.
type Engine interface {
	Info(ctx context.Context) (system.Info, error)
	ImageSave(ctx context.Context, images []string, opts ...client.ImageSaveOption) (io.ReadCloser, error)
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	ImageTag(ctx context.Context, source, target string) error
	ImagePush(ctx context.Context, ref string, opts image.PushOptions) (io.ReadCloser, error)
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerExecCreate(ctx context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error)
	ContainerExecAttach(ctx context.Context, execID string, opts container.ExecAttachOptions) (types.HijackedResponse, error)
	ContainerExecInspect(ctx context.Context, execID string) (container.ExecInspect, error)
}

// New returns the deliverer for a detected cluster. The import paths read
// image content from the engine's own containerd when it is on this
// machine (EngineContainerdEnv names its socket when the engine does not);
// the registry path reads and pushes through reg.
func New(c Cluster, engine Engine, reg *registry.Client, log *zap.Logger) (Deliverer, error) {
	content := os.Getenv(EngineContainerdEnv)
	switch c.Kind {
	case KindContainerd, KindK3s:
		return NewContainerd(c.ContainerdAddress, engine, c.Kind == KindK3s, log).ForPlatforms(c.Platforms).FromEngineContainerd(content), nil
	case KindKind:
		return NewNodes(NodeSelector{Label: "io.x-k8s.kind.cluster", Cluster: c.Name, Flavour: "kind"}, engine, log).ForPlatforms(c.Platforms).FromEngineContainerd(content), nil
	case KindK3d:
		return NewNodes(NodeSelector{Label: "k3d.cluster", Cluster: c.Name, Flavour: "k3d"}, engine, log).ForPlatforms(c.Platforms).FromEngineContainerd(content), nil
	case KindRegistry:
		return NewRegistry(c.Registry, c.RegistryFromCluster, engine, reg, log), nil
	case KindMinikube, KindDockerDesktop, KindSharedEngine:
		return EngineShared{Kind: c.Kind, Engine: engine}, nil
	}
	return nil, fmt.Errorf("no delivery path for cluster kind %q", c.Kind)
}

// NormalizeRef returns the fully qualified form of an image reference as
// containerd stores it: notes-web:t → docker.io/library/notes-web:t.
func NormalizeRef(ref string) (string, error) {
	n, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	return reference.TagNameOnly(n).String(), nil
}

// EngineShared is the delivery for clusters that run images straight from
// the engine devloop builds into (minikube with its docker-env, Docker
// Desktop): nothing moves, but the image must be in that engine, which is
// asked every time (an image removed with `docker image rm` is built again).
type EngineShared struct {
	Kind   Kind
	Engine interface {
		ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
	}
}

// Method implements Deliverer.
func (e EngineShared) Method() string { return "shared engine" }

// Present implements Deliverer: the engine is asked whether it has the tag.
func (e EngineShared) Present(ctx context.Context, ref string) (bool, error) {
	_, err := e.Engine.ImageInspect(ctx, ref)
	switch {
	case err == nil:
		return true, nil
	case client.IsErrNotFound(err):
		return false, nil
	}
	return false, fmt.Errorf("asking the engine for %s: %w", ref, err)
}

// Deliver implements Deliverer: it checks that the image is in the engine.
func (e EngineShared) Deliver(ctx context.Context, ref string) (Report, error) {
	start := time.Now()
	ok, err := e.Present(ctx, ref)
	if err != nil {
		return Report{Ref: ref, Method: e.Method()}, err
	}
	if !ok {
		return Report{Ref: ref, Method: e.Method()}, fmt.Errorf("%s is not in the engine that %s runs images from: "+
			"is DOCKER_HOST (or the docker context) the engine of that cluster? For minikube: eval $(minikube docker-env)", ref, e.Kind)
	}
	return Report{Ref: ref, Method: e.Method(), Skipped: true, Duration: time.Since(start),
		Message: fmt.Sprintf("%s runs images from the engine %s was built in: nothing to move", e.Kind, ref)}, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
