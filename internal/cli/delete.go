package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/kustomize"
)

// deleteOptions are the flags of `devloop delete`.
type deleteOptions struct {
	g    *globalOptions
	Data bool
	Wait bool
}

func newDeleteCmd(g *globalOptions, runF func(context.Context, *deleteOptions) error) *cobra.Command {
	o := &deleteOptions{g: g}
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete what devloop applied for this devloop.yaml (PersistentVolumeClaims are kept)",
		Long: `Delete every object carrying devloop's labels for this configuration's name. Objects
devloop did not apply are never touched, namespaces devloop did not create are kept, and
PersistentVolumeClaims are kept unless --data is given, so data survives a delete.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runDelete(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.Data, "data", false, "also delete PersistentVolumeClaims (their data is lost)")
	cmd.Flags().BoolVar(&o.Wait, "wait", true, "wait until the deleted objects are gone")
	return cmd
}

func runDelete(ctx context.Context, o *deleteOptions) error {
	g := o.g
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	out := g.newOutput()
	kc, err := g.connect(cfg, out)
	if err != nil {
		return err
	}
	return cleanup(ctx, g, kc, cfg, out, !o.Data, o.Wait)
}

// cleanup deletes what devloop applied for a config and says what was kept.
func cleanup(ctx context.Context, g *globalOptions, kc *kube.Client, cfg *config.Config, out output, keepPVCs, wait bool) error {
	name := cfg.Metadata.Name
	defaultNS := cfg.Deploy.Namespace
	if defaultNS == "" {
		defaultNS = kc.Namespace
	}
	a := deploy.NewApplier(kc.Dynamic, kc.Clientset.Discovery(), kc.Mapper, g.log.Named("deploy"), deploy.ApplierOptions{DefaultNamespace: defaultNS})
	t := events.Start(out.sink, events.Event{Phase: events.PhaseCleanup})
	// Helm releases first (their hooks run), then what devloop applied.
	uninstalled, err := uninstallReleases(ctx, g, kc, cfg, out, keepPVCs)
	if err != nil {
		t.Fail(err)
		return fmt.Errorf("uninstalling the Helm releases of %s: %w", name, err)
	}
	res, err := a.Delete(ctx, name, deploy.DeleteOptions{KeepPVCs: keepPVCs, Wait: wait, InventoryNamespace: inventoryNamespace(ctx, cfg, kc, defaultNS)})
	if err != nil {
		t.Fail(err)
		return fmt.Errorf("deleting what devloop applied for %s: %w", name, err)
	}
	res.Deleted = append(res.Deleted, uninstalled...)
	for _, r := range res.Kept {
		out.say(events.PhaseCleanup, "kept "+r.String())
	}
	for _, r := range res.Adopted {
		out.say(events.PhaseCleanup, "left "+r.String()+" in place: devloop adopted it and does not delete it")
	}
	t.Done(fmt.Sprintf("deleted %d objects, kept %d, left %d adopted", len(res.Deleted), len(res.Kept), len(res.Adopted)), func(e *events.Event) {
		e.Counts = map[string]int{"deleted": len(res.Deleted), "kept": len(res.Kept), "adopted": len(res.Adopted)}
	})
	return nil
}

// inventoryNamespace is where devloop keeps the config's inventory: the
// namespace of the app's namespaced objects when they share one, else the
// default namespace (deploy.namespace, else the kube context's). The
// manifests are rendered to find it; when they do not render, the default.
func inventoryNamespace(ctx context.Context, cfg *config.Config, kc *kube.Client, defaultNS string) string {
	if cfg.Deploy.Namespace != "" || cfg.Deploy.Kustomize.Dir == "" {
		return defaultNS
	}
	objs, err := kustomize.Build(ctx, cfg.Deploy.Kustomize.Dir)
	if err != nil {
		return defaultNS
	}
	scope := deploy.StaticScope(objs, deploy.ScopeFromMapper(kc.Mapper))
	return deploy.InventoryNamespace(deploy.AppNamespaces(objs, scope, defaultNS), defaultNS)
}
