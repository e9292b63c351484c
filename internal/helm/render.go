package helm

import (
	"context"
	"fmt"

	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	ri "helm.sh/helm/v4/pkg/release"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/deploy"
)

// Render renders the release as the next Deploy would (a client-side dry
// run of the upgrade of the deployed revision, or of the install), without
// changing anything. A chart that does not render fails with the chart's
// own message.
func (c *Client) Render(ctx context.Context, r Release) (Rendered, error) {
	ch, vals, err := prepare(r)
	if err != nil {
		return Rendered{}, err
	}
	ac, err := c.action(r.Namespace)
	if err != nil {
		return Rendered{}, err
	}
	last, _, err := deployed(ac, r.Config.Name)
	if err != nil {
		return Rendered{}, err
	}
	var x ri.Releaser
	if last != nil {
		up := c.upgrade(ac, r)
		up.DryRunStrategy = action.DryRunClient
		x, err = up.RunWithContext(ctx, r.Config.Name, ch, vals)
	} else {
		in := c.install(ac, r)
		in.DryRunStrategy = action.DryRunClient
		in.Replace = true // a failed or uninstalled release of that name is not an error here
		x, err = in.RunWithContext(ctx, ch, vals)
	}
	if err != nil {
		return Rendered{}, fmt.Errorf("rendering chart %s (release %s): %w", r.Config.Chart, r.Config.Name, err)
	}
	rel, err := v1(x)
	if err != nil {
		return Rendered{}, err
	}
	objs, err := c.manifestObjects(rel)
	if err != nil {
		return Rendered{}, err
	}
	out := Rendered{Manifest: rel.Manifest, Hooks: hooksManifest(rel), Objects: objs}
	if last != nil {
		out.Revision = last.Version
	}
	return out, nil
}

func prepare(r Release) (*chart.Chart, map[string]any, error) {
	ch, err := loadChart(r)
	if err != nil {
		return nil, nil, err
	}
	vals, err := Values(r.Config, r.Images)
	if err != nil {
		return nil, nil, err
	}
	return ch, vals, nil
}

// hooksManifest is the rendered manifest of a release's hooks.
func hooksManifest(rel *release.Release) string {
	var s string
	for _, h := range rel.Hooks {
		s += "---\n" + h.Manifest
	}
	return s
}

// manifestObjects parses the release's manifest, filling in the release
// namespace where Helm would (namespaced objects that name none).
func (c *Client) manifestObjects(rel *release.Release) ([]*unstructured.Unstructured, error) {
	objs, err := parseManifests([]byte(rel.Manifest))
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", rel.Name, err)
	}
	scope := deploy.StaticScope(objs, deploy.ScopeFromMapper(c.getter.mapper))
	for _, o := range objs {
		if o.GetNamespace() != "" {
			continue
		}
		if namespaced, err := scope(o.GroupVersionKind()); err != nil || namespaced {
			o.SetNamespace(rel.Namespace)
		}
	}
	return objs, nil
}
