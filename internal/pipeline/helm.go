package pipeline

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
)

// HelmDeployer renders and deploys Helm releases (helm.Client); unit tests
// fake it.
type HelmDeployer interface {
	Render(ctx context.Context, r helm.Release) (helm.Rendered, error)
	Deploy(ctx context.Context, r helm.Release, prev helm.Rendered) (helm.Result, error)
}

// helmRelease is one configured release with what its dry run rendered.
type helmRelease struct {
	rel      helm.Release
	rendered helm.Rendered
}

// releases resolves the configured releases for a pass: the namespace
// (the release's, else deploy.namespace, else the kube context's) and the
// images.
func (r *Runner) releases(images map[string]string) []helm.Release {
	cfg := r.cfg
	out := make([]helm.Release, 0, len(cfg.Deploy.Helm.Releases))
	for _, hr := range cfg.Deploy.Helm.Releases {
		out = append(out, helm.Release{
			Config: hr, Namespace: ReleaseNamespace(cfg, hr, r.kube.Namespace), ConfigName: cfg.Metadata.Name,
			Images: images, Timeout: cfg.Deploy.StatusTimeout,
		})
	}
	return out
}

// ReleaseNamespace is the namespace of a release: its own, else
// deploy.namespace, else the kube context's (contextNS).
func ReleaseNamespace(cfg *config.Config, hr config.HelmRelease, contextNS string) string {
	return namespaceOr(hr.Namespace, namespaceOr(cfg.Deploy.Namespace, contextNS))
}

// renderHelm dry-runs every release (what the deploy will install or
// upgrade) and returns them with their objects. A chart that does not
// render fails with the chart's own message.
func (r *Runner) renderHelm(ctx context.Context, images map[string]string) ([]helmRelease, []*unstructured.Unstructured, error) {
	if len(r.cfg.Deploy.Helm.Releases) == 0 {
		return nil, nil, nil
	}
	if r.helm == nil {
		return nil, nil, fmt.Errorf("helm releases configured but no Helm client")
	}
	var out []helmRelease
	var objs []*unstructured.Unstructured
	for _, rel := range r.releases(images) {
		rd, err := r.helm.Render(ctx, rel)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, helmRelease{rel: rel, rendered: rd})
		objs = append(objs, rd.Objects...)
	}
	return out, objs, nil
}

// deployHelm installs or upgrades the releases in order (the phase helm),
// and returns their objects as deployed.
func (r *Runner) deployHelm(ctx context.Context, rels []helmRelease) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, hr := range rels {
		name := "release/" + hr.rel.Config.Name
		t := events.Start(r.sink, events.Event{Phase: events.PhaseHelm, Object: name})
		res, err := r.helm.Deploy(ctx, hr.rel, hr.rendered)
		if err != nil {
			t.Fail(err)
			return nil, err
		}
		for _, h := range res.Hooks {
			r.sink.Emit(events.Event{Phase: events.PhaseHelm, Status: events.StatusInfo, Object: name, Message: "hook " + h})
		}
		msg := fmt.Sprintf("%s %s revision %d in %s (%d objects)", hr.rel.Config.Chart, res.Action, res.Revision, hr.rel.Namespace, len(res.Objects))
		if len(res.Hooks) > 0 {
			msg += "; hooks: " + strings.Join(res.Hooks, ", ")
		}
		t.Done(msg, func(e *events.Event) {
			e.Counts = map[string]int{"revision": res.Revision}
		})
		objs = append(objs, res.Objects...)
	}
	return objs, nil
}

// sources names what the manifests come from, for messages.
func sources(cfg *config.Config) string {
	var s []string
	if cfg.Deploy.Kustomize.Path != "" {
		s = append(s, cfg.Deploy.Kustomize.Path)
	}
	for _, hr := range cfg.Deploy.Helm.Releases {
		s = append(s, "chart "+hr.Chart)
	}
	return strings.Join(s, " and ")
}
