// Package helm deploys Helm charts in process with the Helm 4 SDK: it
// renders a release (a dry run, for the checks before a deploy), installs
// or upgrades it with its hooks (Helm 4 applies server-side, as devloop
// does), uninstalls it, and reports a failing hook with its log tail.
//
// Release state lives where Helm keeps it, in Secrets of the release
// namespace; Helm's kube client uses devloop's connection (see restGetter).
package helm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"helm.sh/helm/v4/pkg/action"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	helmkube "helm.sh/helm/v4/pkg/kube"
	ri "helm.sh/helm/v4/pkg/release"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/devloop-dev/devloop/internal/config"
)

// Release is what to deploy: a configured release in its namespace.
type Release struct {
	Config config.HelmRelease
	// Namespace is the release namespace (resolved by the caller).
	Namespace string
	// ConfigName is the devloop config's name (labels).
	ConfigName string
	// Images maps artifact image names to the references to deploy.
	Images map[string]string
	// Timeout bounds the hooks (default 5m).
	Timeout time.Duration
}

// Rendered is a release rendered by a dry run.
type Rendered struct {
	// Manifest is the rendered manifest of the release (hooks excluded).
	Manifest string
	// Hooks is the rendered manifest of its hooks.
	Hooks string
	// Objects are the objects of Manifest.
	Objects []*unstructured.Unstructured
	// Revision is the deployed revision the dry run upgrades (0: none,
	// the release will be installed).
	Revision int
}

// Action says what Deploy did.
type Action string

// What a Deploy did.
const (
	ActionInstalled Action = "installed"
	ActionUpgraded  Action = "upgraded"
	ActionUnchanged Action = "unchanged"
)

// Result is the outcome of a Deploy.
type Result struct {
	Action   Action
	Revision int
	// Hooks are the hooks Helm ran ("post-install Job/notes-seed: Succeeded").
	Hooks []string
	// Objects are the release's objects (hooks excluded).
	Objects []*unstructured.Unstructured
}

// Client deploys releases on one cluster.
type Client struct {
	log    *zap.Logger
	getter *restGetter
	kube   kubernetes.Interface
}

// New returns a Client over devloop's connection to kubeContext.
func New(log *zap.Logger, cfg *rest.Config, cs kubernetes.Interface, kubeContext, namespace string) (*Client, error) {
	g, err := newRESTGetter(cfg, kubeContext, namespace)
	if err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return &Client{log: log, getter: g, kube: cs}, nil
}

func (c *Client) action(namespace string) (*action.Configuration, error) {
	ac := action.NewConfiguration()
	ac.SetLogger(zapHandler{log: c.log.Named("sdk")})
	// Helm's kube client puts objects that name no namespace in its
	// getter's namespace: the release's, as `helm -n` does.
	g := *c.getter
	g.namespace = namespace
	if err := ac.Init(&g, namespace, "secret"); err != nil {
		return nil, fmt.Errorf("helm in namespace %s: %w", namespace, err)
	}
	return ac, nil
}

// loadChart loads the chart directory.
func loadChart(r Release) (*chart.Chart, error) {
	ch, err := loader.Load(r.Config.ChartDir)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", r.Config.Chart, err)
	}
	return ch, nil
}

// deployed returns the release's last deployed revision (nil: none) and
// whether any revision exists at all.
func deployed(ac *action.Configuration, name string) (*release.Release, bool, error) {
	h := action.NewHistory(ac)
	rels, err := h.Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading the history of release %s: %w", name, err)
	}
	var last *release.Release
	for _, x := range rels {
		r, err := v1(x)
		if err != nil {
			return nil, true, err
		}
		if r.Info != nil && r.Info.Status == rcommon.StatusDeployed && (last == nil || r.Version > last.Version) {
			last = r
		}
	}
	return last, len(rels) > 0, nil
}

// failInterrupted marks the release's pending revisions (pending-install,
// -upgrade, -rollback) failed. devloop runs one Helm operation at a time per
// release and waits for it, so a revision still pending when it starts is
// one a killed devloop (or helm) left behind: Helm would refuse every
// upgrade with "another operation is in progress" until someone rolled
// back by hand.
func (c *Client) failInterrupted(ac *action.Configuration, name string) error {
	rels, err := ac.Releases.History(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the history of release %s: %w", name, err)
	}
	for _, x := range rels {
		r, err := v1(x)
		if err != nil {
			return err
		}
		if r.Info == nil || !r.Info.Status.IsPending() {
			continue
		}
		c.log.Info("marking an interrupted revision failed", zap.String("release", name),
			zap.Int("revision", r.Version), zap.Stringer("status", r.Info.Status))
		r.Info.Description = fmt.Sprintf("interrupted while %s; marked failed by devloop", r.Info.Status)
		r.Info.Status = rcommon.StatusFailed
		if err := ac.Releases.Update(r); err != nil {
			return fmt.Errorf("marking revision %d of release %s failed: %w", r.Version, name, err)
		}
	}
	return nil
}

func v1(x ri.Releaser) (*release.Release, error) {
	switch r := x.(type) {
	case *release.Release:
		return r, nil
	case release.Release:
		return &r, nil
	}
	return nil, fmt.Errorf("unsupported Helm release type %T", x)
}

func (c *Client) install(ac *action.Configuration, r Release) *action.Install {
	in := action.NewInstall(ac)
	in.ReleaseName = r.Config.Name
	in.Namespace = r.Namespace
	in.CreateNamespace = true
	in.WaitStrategy = helmkube.HookOnlyStrategy // devloop waits for the rollout itself
	in.Timeout = timeoutOr(r.Timeout)
	in.PostRenderer = postRenderer{images: r.Images, configName: r.ConfigName}
	return in
}

func (c *Client) upgrade(ac *action.Configuration, r Release) *action.Upgrade {
	up := action.NewUpgrade(ac)
	up.Namespace = r.Namespace
	up.WaitStrategy = helmkube.HookOnlyStrategy
	up.Timeout = timeoutOr(r.Timeout)
	up.MaxHistory = 10
	up.PostRenderer = postRenderer{images: r.Images, configName: r.ConfigName}
	return up
}

func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 5 * time.Minute
	}
	return d
}

// Deploy installs the release, or upgrades its deployed revision; a
// release whose rendering equals the deployed revision's (prev, from
// Render) is left alone, so an unchanged pass writes nothing and runs no
// hook. Hooks run as Helm runs them (post-install on the first install
// only, pre-upgrade on upgrades); a failing hook fails with a *HookError
// carrying its log tail.
func (c *Client) Deploy(ctx context.Context, r Release, prev Rendered) (Result, error) {
	ch, vals, err := prepare(r)
	if err != nil {
		return Result{}, err
	}
	ac, err := c.action(r.Namespace)
	if err != nil {
		return Result{}, err
	}
	if err := c.failInterrupted(ac, r.Config.Name); err != nil {
		return Result{}, err
	}
	last, any, err := deployed(ac, r.Config.Name)
	if err != nil {
		return Result{}, err
	}
	if last != nil && prev.Revision == last.Version && prev.Manifest == last.Manifest && prev.Hooks == hooksManifest(last) {
		objs, err := c.manifestObjects(last)
		return Result{Action: ActionUnchanged, Revision: last.Version, Objects: objs}, err
	}
	var x ri.Releaser
	act := ActionUpgraded
	if last != nil {
		x, err = c.upgrade(ac, r).RunWithContext(ctx, r.Config.Name, ch, vals)
	} else {
		if any {
			// Only failed or interrupted revisions: start again.
			c.log.Info("no deployed revision: replacing the release", zap.String("release", r.Config.Name))
			if _, err := c.uninstall(ac, r.Config.Name, r.Timeout); err != nil {
				return Result{}, err
			}
		}
		act = ActionInstalled
		x, err = c.install(ac, r).RunWithContext(ctx, ch, vals)
	}
	if err != nil {
		return Result{}, c.deployError(ctx, ac, r, err)
	}
	rel, err := v1(x)
	if err != nil {
		return Result{}, err
	}
	objs, err := c.manifestObjects(rel)
	if err != nil {
		return Result{}, err
	}
	res := Result{Action: act, Revision: rel.Version, Objects: objs}
	for _, h := range rel.Hooks {
		if h.LastRun.Phase != "" && h.LastRun.Phase != release.HookPhaseUnknown {
			res.Hooks = append(res.Hooks, fmt.Sprintf("%s %s/%s: %s", events(h), h.Kind, h.Name, h.LastRun.Phase))
		}
	}
	return res, nil
}
