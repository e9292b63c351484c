package renderer

import (
	"context"
	"fmt"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/helm"
)

// HelmRenderer dry-runs a Helm release (helm.Client).
type HelmRenderer interface {
	Render(ctx context.Context, r helm.Release) (helm.Rendered, error)
}

// Helm is the Source of the configured Helm releases: each is dry-run (what
// the deploy will install or upgrade) with the pass's images.
type Helm struct {
	helm      HelmRenderer
	contextNS string
}

var _ Source = (*Helm)(nil)

// NewHelm returns the Helm Source; contextNS is the kube context's namespace.
func NewHelm(h HelmRenderer, contextNS string) *Helm {
	return &Helm{helm: h, contextNS: contextNS}
}

// Check renders the charts with the images known so far (an artifact not
// built yet keeps its name): a chart error shows before any build.
func (h *Helm) Check(ctx context.Context, cfg *config.Config, images map[string]string) error {
	_, err := h.Render(ctx, cfg, images, &Rendered{})
	return err
}

// Render dry-runs every release in order. A chart that does not render
// fails with the chart's own message (not an InputError).
func (h *Helm) Render(ctx context.Context, cfg *config.Config, images map[string]string, into *Rendered) (bool, error) {
	if len(cfg.Deploy.Helm.Releases) == 0 {
		return false, nil
	}
	if h.helm == nil {
		return false, fmt.Errorf("helm releases configured but no Helm client")
	}
	for _, hr := range cfg.Deploy.Helm.Releases {
		rel := helm.Release{
			Config: hr, Namespace: ReleaseNamespace(cfg, hr, h.contextNS), ConfigName: cfg.Metadata.Name,
			Images: images, Timeout: cfg.Deploy.StatusTimeout,
		}
		rd, err := h.helm.Render(ctx, rel)
		if err != nil {
			return false, err
		}
		into.Releases = append(into.Releases, Release{Release: rel, Rendered: rd})
	}
	return false, nil
}

// Forget does nothing: every pass renders the charts.
func (h *Helm) Forget() {}

// ReleaseNamespace is the namespace of a release: its own, else
// deploy.namespace, else the kube context's (contextNS).
func ReleaseNamespace(cfg *config.Config, hr config.HelmRelease, contextNS string) string {
	if hr.Namespace != "" {
		return hr.Namespace
	}
	if cfg.Deploy.Namespace != "" {
		return cfg.Deploy.Namespace
	}
	return contextNS
}
