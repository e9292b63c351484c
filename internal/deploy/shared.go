package deploy

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// OtherConfigError says a namespace devloop is about to apply to holds
// objects of another devloop config: on a shared cluster that is another
// person's or another app's deployment, and the two would overwrite each
// other's objects. Nothing is written.
type OtherConfigError struct {
	Namespace   string
	Config      string
	OtherConfig string
	// Example is one object of the other config.
	Example ObjectRef
}

func (e *OtherConfigError) Error() string {
	return fmt.Sprintf("namespace %q holds objects of devloop config %q (e.g. %s), not %q: "+
		"two configs in one namespace overwrite each other's objects; deploy into a namespace of your own "+
		"(deploy.namespace: dev-${USER}, or --kube-context with another namespace), "+
		"or remove the other app first (`devloop delete` in its project, config %q)",
		e.Namespace, e.OtherConfig, e.Example, e.Config, e.OtherConfig)
}

// sharedKinds are the kinds scanned for another config's objects: the
// inventory ConfigMap every config keeps in its app namespace, and the
// workloads and Services an app is made of.
var sharedKinds = []schema.GroupVersionResource{
	{Version: "v1", Resource: "configmaps"},
	{Version: "v1", Resource: "services"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
}

// sharedCheck remembers the namespaces found free of other configs, so that
// `dev` asks once per namespace and session.
type sharedCheck struct {
	mu   sync.Mutex
	free map[string]bool // config + "/" + namespace
}

// checkOtherConfigs refuses, before anything is written, to apply config
// into a namespace that holds objects of another devloop config (labelled
// with its name, or its inventory). Objects of the manifests themselves are
// left to the per-object check (ForeignError, --adopt). A namespace devloop
// may not list in is not checked.
func (a *Applier) checkOtherConfigs(ctx context.Context, config string, refs []ObjectRef) []*ObjectError {
	own := map[string]bool{}
	var namespaces []string
	for _, r := range refs {
		own[r.Kind+"/"+r.Namespace+"/"+r.Name] = true
		if r.Namespace != "" && !slices.Contains(namespaces, r.Namespace) && !a.shared.isFree(config, r.Namespace) {
			namespaces = append(namespaces, r.Namespace)
		}
	}
	sort.Strings(namespaces)
	kinds := map[string]string{"configmaps": "ConfigMap", "services": "Service", "deployments": "Deployment", "statefulsets": "StatefulSet"}
	found := make([]*OtherConfigError, len(namespaces))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.opts.Concurrency)
	var mu sync.Mutex
	for i, ns := range namespaces {
		for _, gvr := range sharedKinds {
			g.Go(func() error {
				list, err := a.dyn.Resource(gvr).Namespace(ns).List(gctx, metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedByValue})
				if err != nil {
					if !apierrors.IsForbidden(err) && !apierrors.IsNotFound(err) {
						a.log.Debug("checking the namespace for other configs", zap.String("namespace", ns), zap.Error(err))
					}
					return nil
				}
				for _, o := range list.Items {
					l := o.GetLabels()
					other := l[LabelConfig]
					if other == "" && gvr.Resource == "configmaps" {
						other = l[LabelInventory]
					}
					ref := ObjectRef{Group: gvr.Group, Version: gvr.Version, Kind: kinds[gvr.Resource], Namespace: ns, Name: o.GetName()}
					if other == "" || other == config || own[ref.Kind+"/"+ns+"/"+ref.Name] {
						continue
					}
					mu.Lock()
					if found[i] == nil {
						found[i] = &OtherConfigError{Namespace: ns, Config: config, OtherConfig: other, Example: ref}
					}
					mu.Unlock()
				}
				return nil
			})
		}
	}
	_ = g.Wait()
	var errs []*ObjectError
	for i, ns := range namespaces {
		if found[i] == nil {
			if ctx.Err() == nil {
				a.shared.markFree(config, ns)
			}
			continue
		}
		errs = append(errs, &ObjectError{Ref: ObjectRef{Version: "v1", Kind: "Namespace", Name: ns}, Err: found[i]})
	}
	return errs
}

func (s *sharedCheck) isFree(config, ns string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.free[config+"/"+ns]
}

func (s *sharedCheck) markFree(config, ns string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free == nil {
		s.free = map[string]bool{}
	}
	s.free[config+"/"+ns] = true
}
