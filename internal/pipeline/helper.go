package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helper"
)

// helperState is what a Runner keeps of devloop's helper: its image's
// reference once built, and what each wrapped image runs by default.
type helperState struct {
	ref      string
	commands map[string]deploy.ImageCommand
}

// injectHelper wraps, in the rendered objects, the containers of every
// artifact whose sync rules restart the process (Options.Helper: `devloop
// dev` only) in devloop's helper, building and delivering the helper image
// the first time. Nothing is done without such an artifact.
func (r *Runner) injectHelper(ctx context.Context, images map[string]string, objs []*unstructured.Unstructured) error {
	if !r.opts.Helper {
		return nil
	}
	var targets []config.Artifact
	for _, a := range r.cfg.Build.Artifacts {
		if a.NeedsHelper() && images[a.Image] != "" {
			targets = append(targets, a)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	if r.helper.ref == "" {
		ref, err := r.buildHelper(ctx)
		if err != nil {
			return fmt.Errorf("devloop's helper (for the sync rules that restart): %w", err)
		}
		r.helper.ref = ref
	}
	inj := deploy.HelperInjection{Image: r.helper.ref, Targets: map[string]deploy.ImageCommand{}}
	for _, a := range targets {
		ic, err := r.imageCommand(ctx, a, images[a.Image])
		if err != nil {
			return fmt.Errorf("artifact %s: reading what its image runs (for the helper): %w", a.Image, err)
		}
		inj.Targets[images[a.Image]] = ic
	}
	n, err := deploy.InjectHelper(objs, inj)
	if err != nil {
		return &InputError{Err: fmt.Errorf("injecting devloop's helper: %w", err)}
	}
	r.sink.Emit(events.Event{Phase: events.PhaseRender, Status: events.StatusInfo,
		Message: fmt.Sprintf("devloop's helper %s wraps %d containers (dev only: sync rules restart them)", r.helper.ref, n)})
	return nil
}

// buildHelper builds the helper's image like an artifact (content-hashed,
// skipped when present) and returns the reference the cluster runs.
func (r *Runner) buildHelper(ctx context.Context) (string, error) {
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
	if _, _, err := r.buildArtifact(ctx, a); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.artifacts[helper.Image]
	delete(r.artifacts, helper.Image) // not an artifact of the configuration
	if st == nil || st.ref == "" {
		return "", fmt.Errorf("the helper image has no reference after its build")
	}
	return st.ref, nil
}

// imageCommand is the entrypoint and cmd of the artifact's image: from the
// engine (the tag built there), else from the registry the image was pushed to.
func (r *Runner) imageCommand(ctx context.Context, a config.Artifact, ref string) (deploy.ImageCommand, error) {
	if ic, ok := r.helper.commands[ref]; ok {
		return ic, nil
	}
	if r.helper.commands == nil {
		r.helper.commands = map[string]deploy.ImageCommand{}
	}
	r.mu.Lock()
	tag := r.state(a.Image).tag
	r.mu.Unlock()
	var errs []error
	for _, local := range []string{a.Image + ":" + tag, ref} {
		insp, err := r.engine.ImageInspect(ctx, local)
		if err == nil && insp.Config != nil {
			ic := deploy.ImageCommand{Entrypoint: insp.Config.Entrypoint, Cmd: insp.Config.Cmd, Env: insp.Config.Env, WorkingDir: insp.Config.WorkingDir}
			r.helper.commands[ref] = ic
			return ic, nil
		}
		errs = append(errs, fmt.Errorf("engine %s: %w", local, err))
	}
	// Pushed: read the config from the registry as this machine reaches it
	// (the reference the cluster pulls may name it otherwise).
	remotes := []string{ref}
	for _, reg := range []string{r.cluster.Registry, r.cfg.Registry} {
		if reg != "" {
			remotes = append([]string{reg + "/" + a.Image + ":" + tag}, remotes...)
		}
	}
	for _, rr := range remotes {
		img, err := r.registry.Image(ctx, rr)
		if err == nil {
			var cf *v1.ConfigFile
			if cf, err = img.ConfigFile(); err == nil {
				ic := deploy.ImageCommand{Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd, Env: cf.Config.Env, WorkingDir: cf.Config.WorkingDir}
				r.helper.commands[ref] = ic
				return ic, nil
			}
		}
		errs = append(errs, fmt.Errorf("registry %s: %w", rr, err))
	}
	return deploy.ImageCommand{}, errors.Join(errs...)
}

// Platform is the platform the artifact's image is built for (the first of
// its platforms, the nodes' by default): what a sync rule's run command
// builds for. Empty for an unknown artifact.
func (r *Runner) Platform(image string) string {
	cfg := r.Config()
	for _, a := range cfg.Build.Artifacts {
		if a.Image == image {
			choice := build.ResolvePlatforms(r.opts.Platforms, a.Platforms, cfg.Build.Platforms, r.cluster.Platforms)
			if len(choice.Platforms) > 0 {
				return choice.Platforms[0]
			}
		}
	}
	return ""
}
