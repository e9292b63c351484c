package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helper"
	"github.com/devloop-dev/devloop/internal/stage/builder"
)

// helperInjector is ModeDev's Transformer: it wraps, in the rendered
// objects, the containers of every artifact whose sync rules restart the
// process in devloop's helper, building and delivering the helper image the
// first time. Nothing is done without such an artifact. The pass goroutine
// alone uses it.
type helperInjector struct {
	sink     events.Sink
	builder  *builder.Stage
	engine   *engine
	commands *imageCommands

	ref string // the helper image's, once built
}

var _ Transformer = (*helperInjector)(nil)

// Transform wraps the containers of the artifacts that need the helper.
func (h *helperInjector) Transform(ctx context.Context, cfg *config.Config, images map[string]string, objs []*unstructured.Unstructured) error {
	var targets []config.Artifact
	for _, a := range cfg.Build.Artifacts {
		if a.NeedsHelper() && images[a.Image] != "" {
			targets = append(targets, a)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	if h.ref == "" {
		ref, err := h.build(ctx, cfg)
		if err != nil {
			return fmt.Errorf("devloop's helper (for the sync rules that restart): %w", err)
		}
		h.ref = ref
	}
	inj := deploy.HelperInjection{Image: h.ref, Targets: map[string]deploy.ImageCommand{}}
	for _, a := range targets {
		ic, err := h.commands.of(ctx, cfg, a, images[a.Image])
		if err != nil {
			return fmt.Errorf("artifact %s: reading what its image runs (for the helper): %w", a.Image, err)
		}
		inj.Targets[images[a.Image]] = ic
	}
	n, err := deploy.InjectHelper(objs, inj)
	if err != nil {
		return &InputError{Err: fmt.Errorf("injecting devloop's helper: %w", err)}
	}
	h.sink.Emit(events.Event{Phase: events.PhaseRender, Status: events.StatusInfo,
		Message: fmt.Sprintf("devloop's helper %s wraps %d containers (dev only: sync rules restart them)", h.ref, n)})
	return nil
}

// build builds the helper's image like an artifact (content-hashed,
// skipped when present) and returns the reference the cluster runs.
func (h *helperInjector) build(ctx context.Context, cfg *config.Config) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	base = filepath.Join(base, "devloop")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("making %s: %w", base, err)
	}
	dir, err := helper.Context(base)
	if err != nil {
		return "", err
	}
	a := config.Artifact{Image: helper.Image, Context: dir, ContextDir: dir, DockerfilePath: filepath.Join(dir, "Dockerfile")}
	return h.builder.BuildSupport(ctx, cfg, h.engine.kind, a)
}

// imageCommands reads what artifacts' images run by default (the helper and
// the debugger wrap it), once per reference. The pass goroutine alone uses it.
type imageCommands struct {
	builder *builder.Stage
	engine  *engine
	cluster deliver.Cluster
	known   map[string]deploy.ImageCommand
}

// of is the entrypoint, cmd, environment and working directory of the
// artifact's image: from the engine (the tag built there), else from the
// registry the image was pushed to.
func (h *imageCommands) of(ctx context.Context, cfg *config.Config, a config.Artifact, ref string) (deploy.ImageCommand, error) {
	if ic, ok := h.known[ref]; ok {
		return ic, nil
	}
	if h.known == nil {
		h.known = map[string]deploy.ImageCommand{}
	}
	tag := h.builder.Tag(a.Image)
	var errs []error
	for _, local := range []string{a.Image + ":" + tag, ref} {
		insp, err := h.engine.client.ImageInspect(ctx, local)
		if err == nil && insp.Config != nil {
			ic := deploy.ImageCommand{Entrypoint: insp.Config.Entrypoint, Cmd: insp.Config.Cmd, Env: insp.Config.Env, WorkingDir: insp.Config.WorkingDir}
			h.known[ref] = ic
			return ic, nil
		}
		errs = append(errs, fmt.Errorf("engine %s: %w", local, err))
	}
	// Pushed: read the config from the registry as this machine reaches it
	// (the reference the cluster pulls may name it otherwise).
	remotes := []string{ref}
	for _, reg := range []string{h.cluster.Registry, cfg.Registry} {
		if reg != "" {
			remotes = append([]string{reg + "/" + a.Image + ":" + tag}, remotes...)
		}
	}
	for _, rr := range remotes {
		img, err := h.engine.registry.Image(ctx, rr)
		if err == nil {
			var cf *v1.ConfigFile
			if cf, err = img.ConfigFile(); err == nil {
				ic := deploy.ImageCommand{Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd, Env: cf.Config.Env, WorkingDir: cf.Config.WorkingDir}
				h.known[ref] = ic
				return ic, nil
			}
		}
		errs = append(errs, fmt.Errorf("registry %s: %w", rr, err))
	}
	return deploy.ImageCommand{}, errors.Join(errs...)
}
