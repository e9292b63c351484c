package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// DeleteOptions modifies Delete.
type DeleteOptions struct {
	// KeepPVCs keeps PersistentVolumeClaims (the data survives).
	KeepPVCs bool
	// Wait waits until the deleted objects are gone.
	Wait bool
	// WaitTimeout bounds Wait; default 2 minutes.
	WaitTimeout time.Duration
	// InventoryNamespace is where the inventory is (see InventoryNamespace);
	// default: where this Applier last saw it, else
	// ApplierOptions.InventoryNamespace, else DefaultNamespace.
	InventoryNamespace string
}

// DeleteResult lists what Delete deleted and what it kept on purpose.
type DeleteResult struct {
	Deleted []ObjectRef
	Kept    []ObjectRef
	// Adopted are objects devloop adopted and left in place.
	Adopted []ObjectRef
}

// Delete deletes everything devloop applied for config, found through the
// inventory and a label-selector scan of every listable resource (so it
// works from a fresh process): namespaces last and only those devloop
// created, PersistentVolumeClaims only unless KeepPVCs, adopted objects
// never. Objects owned by a controller are left to the garbage collector.
func (a *Applier) Delete(ctx context.Context, config string, opts DeleteOptions) (DeleteResult, error) {
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = 2 * time.Minute
	}
	if opts.InventoryNamespace == "" {
		opts.InventoryNamespace = a.inventoryNamespaceOf(config)
	}
	inv, err := a.loadInventory(ctx, config, opts.InventoryNamespace, true)
	if err != nil {
		return DeleteResult{}, fmt.Errorf("deleting %q: %w", config, err)
	}
	found, err := a.scan(ctx, config)
	if err != nil {
		return DeleteResult{}, fmt.Errorf("deleting %q: %w", config, err)
	}
	for _, r := range inv.Objects {
		if n, _, err := a.normalize(r); err == nil {
			found[n.key()] = n
		}
	}
	var res DeleteResult
	var objects, namespaces []ObjectRef
	for _, r := range found {
		switch {
		case inv.adopted(r):
			res.Adopted = append(res.Adopted, r)
		case isPVC(r) && opts.KeepPVCs:
			res.Kept = append(res.Kept, r)
		case isNamespace(r) && !inv.createdNamespace(r.Name):
			res.Kept = append(res.Kept, r)
		case isNamespace(r) && opts.KeepPVCs:
			// Deleting a namespace deletes its claims: keep it while it holds any.
			has, err := a.hasClaims(ctx, r.Name)
			if err != nil {
				return res, fmt.Errorf("deleting %q: %w", config, err)
			}
			if has {
				res.Kept = append(res.Kept, r)
			} else {
				namespaces = append(namespaces, r)
			}
		case isNamespace(r):
			namespaces = append(namespaces, r)
		default:
			objects = append(objects, r)
		}
	}
	gone := map[ObjectRef]string{}
	var mu sync.Mutex
	var errs []error
	del := func(refs []ObjectRef) {
		g := new(errgroup.Group)
		g.SetLimit(a.opts.Concurrency)
		for _, r := range refs {
			g.Go(func() error {
				r, m, err := a.normalize(r)
				var uid string
				var adopted bool
				if err == nil {
					uid, adopted, err = a.deleteIfOurs(ctx, r, m, config)
				} else if meta.IsNoMatchError(err) {
					err = nil
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if adopted {
					res.Adopted = append(res.Adopted, r)
				} else if uid != "" {
					gone[r] = uid
					res.Deleted = append(res.Deleted, r)
				}
				return nil
			})
		}
		_ = g.Wait()
	}
	del(objects)
	del(namespaces)
	if opts.Wait {
		if err := a.waitAllGone(ctx, gone, opts.WaitTimeout); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		// A namespace devloop created and kept for its claims stays in the
		// inventory (with what was kept): a later delete --data may then
		// delete it; without the record it would be left forever.
		var keptNS []string
		for _, r := range res.Kept {
			if isNamespace(r) && inv.createdNamespace(r.Name) {
				keptNS = append(keptNS, r.Name)
			}
		}
		if len(keptNS) > 0 {
			kept := &inventory{Objects: append([]ObjectRef(nil), res.Kept...), Namespaces: keptNS, namespace: inv.namespace, stale: inv.stale}
			if err := a.saveInventory(ctx, config, kept); err != nil {
				errs = append(errs, err)
			}
		} else if err := a.dropInventory(ctx, config, inv); err != nil {
			errs = append(errs, err)
		}
	}
	sortRefs(res.Deleted)
	sortRefs(res.Kept)
	sortRefs(res.Adopted)
	a.log.Info("deleted", zap.String("config", config), zap.Int("deleted", len(res.Deleted)), zap.Int("kept", len(res.Kept)))
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("deleting %q: %w", config, err)
	}
	return res, nil
}

// scan lists every listable, deletable resource with config's label
// selector and returns the objects devloop applied (not those a controller
// owns, such as a Deployment's ReplicaSets and pods), by key.
func (a *Applier) scan(ctx context.Context, config string) (map[string]ObjectRef, error) {
	if a.disc == nil {
		return nil, errors.New("no discovery client")
	}
	lists, err := a.disc.ServerPreferredResources()
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovering resources: %w", err)
	}
	type res struct {
		gvr schema.GroupVersionResource
		gvk schema.GroupVersionKind
	}
	var all []res
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !has(r.Verbs, "list") || !has(r.Verbs, "delete") {
				continue
			}
			if r.Name == "events" || gv.Group == "events.k8s.io" || r.Kind == "Endpoints" || gv.Group == "discovery.k8s.io" {
				continue // copies of a Service's labels, and noise
			}
			all = append(all, res{gv.WithResource(r.Name), gv.WithKind(r.Kind)})
		}
	}
	found := map[string]ObjectRef{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.opts.Concurrency)
	for _, r := range all {
		g.Go(func() error {
			list, err := a.dyn.Resource(r.gvr).List(gctx, metav1.ListOptions{LabelSelector: Selector(config)})
			if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsMethodNotSupported(err) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("listing %s: %w", r.gvr.Resource, err)
			}
			mu.Lock()
			defer mu.Unlock()
			for i := range list.Items {
				u := &list.Items[i]
				if metav1.GetControllerOf(u) != nil {
					continue
				}
				ref := ObjectRef{Group: r.gvk.Group, Version: r.gvk.Version, Kind: r.gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName()}
				found[ref.key()] = ref
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return found, nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var pvcGVR = schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}

// hasClaims reports whether a namespace holds PersistentVolumeClaims (those
// of StatefulSets' volumeClaimTemplates included).
func (a *Applier) hasClaims(ctx context.Context, namespace string) (bool, error) {
	l, err := a.dyn.Resource(pvcGVR).Namespace(namespace).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return false, fmt.Errorf("listing the claims of namespace %s: %w", namespace, err)
	}
	return len(l.Items) > 0, nil
}

// dynamicResource is the dynamic client of one resource (and namespace).
type dynamicResource = dynamic.ResourceInterface

// deleteObject deletes with background propagation (dependents such as a
// Job's pods go too); an object already gone is not an error.
func deleteObject(ctx context.Context, ri dynamicResource, name string) (uid string, err error) {
	live, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	prop := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &prop})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	return string(live.GetUID()), err
}

// waitGone polls until the object with that uid no longer exists.
func waitGone(ctx context.Context, ri dynamicResource, name, uid string, timeout time.Duration) error {
	if uid == "" {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		live, err := ri.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && string(live.GetUID()) != uid) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still exists after %s", name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func deleteAndWait(ctx context.Context, ri dynamicResource, name string, timeout time.Duration) error {
	uid, err := deleteObject(ctx, ri, name)
	if err != nil {
		return err
	}
	return waitGone(ctx, ri, name, uid, timeout)
}
