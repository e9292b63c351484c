package session

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/devloop-dev/devloop/internal/dashboard"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/kube"
)

// Dashboard serves the dashboard (already listening) until ctx ends and
// keeps it on the Feed: the rebuild buttons of the configuration in use
// and the resources of its namespaces.
type Dashboard struct {
	srv  *dashboard.Server
	feed *Feed
	kube *kube.Client
}

var _ Runnable = (*Dashboard)(nil)

// NewDashboard returns the dashboard component.
func NewDashboard(srv *dashboard.Server, feed *Feed, kc *kube.Client) *Dashboard {
	return &Dashboard{srv: srv, feed: feed, kube: kc}
}

// Start serves until ctx ends.
func (d *Dashboard) Start(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.srv.Start(gctx) })
	g.Go(func() error {
		for {
			st, next := d.feed.Current()
			names := make([]string, 0, len(st.Config.Build.Artifacts))
			for _, a := range st.Config.Build.Artifacts {
				names = append(names, a.Image)
			}
			d.srv.SetArtifacts(names)
			sel, err := labels.Parse(deploy.Selector(st.Config.Metadata.Name))
			if err != nil {
				return fmt.Errorf("devloop's label selector: %w", err)
			}
			ns := namespacesOf(st.Objects)
			if len(ns) == 0 {
				ns = []string{d.kube.Namespace}
			}
			d.srv.SetResources(dashboard.KubeResources{Client: d.kube.Clientset, Namespaces: ns, Selector: sel})
			select {
			case <-gctx.Done():
				return nil
			case <-next:
			}
		}
	})
	return g.Wait()
}
