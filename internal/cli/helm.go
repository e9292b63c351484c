package cli

import (
	"context"
	"fmt"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/stage/renderer"
)

// uninstallReleases uninstalls the configuration's Helm releases (the
// claims of their StatefulSets stay, as do the charts' own claims, which
// devloop marks helm.sh/resource-policy: keep) and, unless keepPVCs,
// deletes the charts' claims; the StatefulSets' claims carry devloop's
// labels and go with Applier.Delete. It returns the releases uninstalled
// and the claims deleted, as objects.
func uninstallReleases(ctx context.Context, g *globalOptions, kc *kube.Client, cfg *config.Config, out output, keepPVCs bool) ([]deploy.ObjectRef, error) {
	if len(cfg.Deploy.Helm.Releases) == 0 {
		return nil, nil
	}
	hc, err := helm.New(g.log.Named("helm"), kc.Config, kc.Clientset, kc.Context, kc.Namespace)
	if err != nil {
		return nil, err
	}
	var gone []deploy.ObjectRef
	for _, hr := range cfg.Deploy.Helm.Releases {
		ns := renderer.ReleaseNamespace(cfg, hr, kc.Namespace)
		found, err := hc.Uninstall(ctx, hr.Name, ns, cfg.Deploy.StatusTimeout)
		if err != nil {
			return gone, err
		}
		if found {
			out.say(events.PhaseCleanup, fmt.Sprintf("uninstalled Helm release %s in %s", hr.Name, ns))
		}
		if keepPVCs {
			continue
		}
		names, err := hc.DeleteClaims(ctx, cfg.Metadata.Name, ns)
		for _, n := range names {
			gone = append(gone, deploy.ObjectRef{Version: "v1", Kind: "PersistentVolumeClaim", Namespace: ns, Name: n})
		}
		if err != nil {
			return gone, err
		}
	}
	return gone, nil
}
