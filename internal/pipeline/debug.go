package pipeline

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/debug"
	"github.com/devloop-dev/devloop/internal/events"
)

// DebugOptions are `devloop debug`'s: which artifacts' containers start
// under their runtime's debugger.
type DebugOptions struct {
	// Artifacts names the artifacts (by image); empty means every one.
	Artifacts []string
}

// GoGCFlagsArg is the build argument a debug build gets: Skaffold's name,
// so Dockerfiles written for `skaffold debug` build without optimisations
// (`go build -gcflags="${SKAFFOLD_GO_GCFLAGS}"`). A Dockerfile that does
// not use it still debugs, with optimised code.
const GoGCFlagsArg = "SKAFFOLD_GO_GCFLAGS"

// debugs reports whether the containers of cfg's artifact image are
// debugged under d.
func debugs(d *DebugOptions, cfg *config.Config, image string) bool {
	if d == nil || !slices.ContainsFunc(cfg.Build.Artifacts, func(a config.Artifact) bool { return a.Image == image }) {
		return false
	}
	return len(d.Artifacts) == 0 || slices.Contains(d.Artifacts, image)
}

// debugBuild is the artifact as a debug build under d builds it: with
// GoGCFlagsArg (unless devloop.yaml sets it).
func debugBuild(d *DebugOptions, cfg *config.Config, a config.Artifact) config.Artifact {
	if !debugs(d, cfg, a.Image) {
		return a
	}
	if _, set := a.BuildArgs[GoGCFlagsArg]; set {
		return a
	}
	args := maps.Clone(a.BuildArgs)
	if args == nil {
		args = map[string]string{}
	}
	args[GoGCFlagsArg] = "all=-N -l"
	a.BuildArgs = args
	return a
}

// debugInjector is `devloop debug`'s Transformer: it starts, in the
// rendered objects, the containers of the debugged artifacts under their
// runtime's debugger (debug.Rewrite), delivering the support image the
// first time one needs it. A container whose runtime is unknown is
// announced and runs undebugged. The pass goroutine alone uses it.
type debugInjector struct {
	opts     *DebugOptions
	sink     events.Sink
	engine   *engine
	commands *imageCommands

	supportRef string // the debuggers' support image once delivered
}

var _ Transformer = (*debugInjector)(nil)

// Transform starts the debugged artifacts' containers under their debugger.
func (r *debugInjector) Transform(ctx context.Context, cfg *config.Config, images map[string]string, objs []*unstructured.Unstructured) error {
	targets := map[string]debug.Target{}
	for _, a := range cfg.Build.Artifacts {
		ref := images[a.Image]
		if ref == "" || !debugs(r.opts, cfg, a.Image) {
			continue
		}
		ic, err := r.commands.of(ctx, cfg, a, ref)
		if err != nil {
			return fmt.Errorf("artifact %s: reading what its image runs (for the debugger): %w", a.Image, err)
		}
		t := debug.Target{Artifact: a.Image, Image: debug.ImageConfig{
			Entrypoint: ic.Entrypoint, Cmd: ic.Cmd, Env: ic.Env, WorkingDir: ic.WorkingDir}}
		if a.Debug.Runtime != "" {
			rt, err := debug.ParseRuntime(a.Debug.Runtime)
			if err != nil {
				return &InputError{Err: fmt.Errorf("artifact %s: %w", a.Image, err)}
			}
			t.Runtime = rt
		}
		targets[ref] = t
	}
	if len(targets) == 0 {
		return nil
	}
	support := map[debug.Runtime]string{}
	for _, rt := range debug.Runtimes(debug.Find(objs, targets)) {
		ref, err := r.debugSupport(ctx)
		if err != nil {
			return err
		}
		support[rt] = ref
	}
	found, err := debug.Rewrite(objs, targets, support)
	if err != nil {
		return &InputError{Err: fmt.Errorf("starting containers under the debugger: %w", err)}
	}
	for _, c := range found {
		e := events.Event{Time: time.Now(), Phase: events.PhaseDebug, Status: events.StatusInfo, Artifact: c.Artifact,
			Object: c.Object, Container: c.Container, Runtime: string(c.Runtime)}
		if c.Runtime == "" {
			e.Message = fmt.Sprintf("%s container %s runs undebugged: %s", c.Object, c.Container, c.Reason)
		} else {
			e.Protocol = debug.SpecOf(c.Runtime).Protocol
			e.Message = fmt.Sprintf("%s container %s starts under the %s debugger on port %d", c.Object, c.Container, c.Runtime, c.Port)
		}
		r.sink.Emit(e)
	}
	return nil
}

// debugSupport delivers the debuggers' support image from the engine to
// the cluster (once per Runner) and returns the reference pods use.
func (r *debugInjector) debugSupport(ctx context.Context) (string, error) {
	if r.supportRef != "" {
		return r.supportRef, nil
	}
	if _, err := r.engine.client.ImageInspect(ctx, debug.SupportImage); err != nil {
		err = fmt.Errorf("the debuggers' support image %s is not in the Docker Engine (hack/env/images.sh debug builds it): %w", debug.SupportImage, err)
		events.Start(r.sink, events.Event{Phase: events.PhaseDeliver, Artifact: debug.SupportImage}).Fail(err)
		return "", err
	}
	// The delivery stage reports the deliver event.
	ref, _, err := r.engine.delivery.Deliver(ctx, events.Event{Artifact: debug.SupportImage}, debug.SupportImage)
	if err != nil {
		return "", fmt.Errorf("the debuggers' support image: %w", err)
	}
	r.supportRef = ref
	return ref, nil
}
