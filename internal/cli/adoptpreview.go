package cli

import (
	"context"
	"fmt"
	"runtime"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/pipeline"
)

// previewAdoption is `devloop run --adopt --dry-run`: it renders the overlay
// as `devloop render` does (nothing is built), and for every object of it
// that exists in the cluster without this config's labels reports what
// adopting it would remove, add or change, from the server's dry run of the
// replacing write. Nothing is written.
func previewAdoption(ctx context.Context, o *runOptions, cfg *config.Config, kc *kube.Client, out output) error {
	g := o.g
	if cfg.Deploy.Kustomize.Dir == "" {
		out.say(events.PhaseApply, "dry run: this configuration deploys Helm releases only, and only the kustomize overlay's objects are adopted; nothing written")
		return nil
	}
	if n := len(cfg.Deploy.Helm.Releases); n > 0 {
		out.say(events.PhaseApply, fmt.Sprintf("dry run: the %d Helm releases are not previewed, only the kustomize overlay", n))
	}
	refs, err := pipeline.ContentRefs(ctx, cfg, splitList(o.Platforms), []string{runtime.GOOS + "/" + runtime.GOARCH})
	if err != nil {
		return err
	}
	objs, err := deploy.Render(ctx, deploy.RenderOptions{
		Path: cfg.Deploy.Kustomize.Dir, Images: refs, Namespace: cfg.Deploy.Namespace, ConfigName: cfg.Metadata.Name,
		Scope: deploy.ScopeFromMapper(kc.Mapper), ImagePullSecrets: cfg.Deploy.ImagePullSecrets,
	})
	if err != nil {
		return &pipeline.InputError{Err: err}
	}
	defaultNS := cfg.Deploy.Namespace
	if defaultNS == "" {
		defaultNS = kc.Namespace
	}
	a := deploy.NewApplier(kc.Dynamic, kc.Clientset.Discovery(), kc.Mapper, g.log.Named("deploy"), deploy.ApplierOptions{DefaultNamespace: defaultNS})
	t := events.Start(out.sink, events.Event{Phase: events.PhaseApply})
	previews, err := a.PreviewAdoption(ctx, objs, cfg.Metadata.Name)
	if err != nil {
		t.Fail(err)
		return err
	}
	refused := 0
	for _, p := range previews {
		e := events.Event{Phase: events.PhaseApply, Status: events.StatusInfo, Object: p.Ref.String()}
		switch {
		case p.Err != nil:
			refused++
			e.Message = "adopting it would fail: " + p.Err.Error()
		case len(p.Changes) == 0:
			e.Message = "would adopt: no field would change"
		default:
			e.Message = fmt.Sprintf("would adopt: %d fields would change", len(p.Changes))
			for _, c := range p.Changes {
				e.Changes = append(e.Changes, c.String())
			}
		}
		out.sink.Emit(e)
	}
	counts := func(e *events.Event) {
		e.Counts = map[string]int{"adopt": len(previews) - refused, "refused": refused, "writes": 0}
	}
	if len(previews) == 0 {
		t.Skip("dry run: every object of the manifests is devloop's or absent, nothing to adopt; nothing written", counts)
		return nil
	}
	t.Done(fmt.Sprintf("dry run: %d objects would be adopted; nothing written", len(previews)-refused), counts)
	return nil
}
