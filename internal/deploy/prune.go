package deploy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ours reports whether u carries devloop's labels for config.
func ours(u *unstructured.Unstructured, config string) bool {
	l := u.GetLabels()
	return l[LabelManagedBy] == ManagedByValue && l[LabelConfig] == config
}

func isPVC(r ObjectRef) bool       { return r.Group == "" && r.Kind == "PersistentVolumeClaim" }
func isNamespace(r ObjectRef) bool { return r.Group == "" && r.Kind == "Namespace" }

// normalize fills in the default namespace of a namespaced ref.
func (a *Applier) normalize(r ObjectRef) (ObjectRef, *meta.RESTMapping, error) {
	m, err := a.mapping(r.GroupVersionKind())
	if err != nil {
		return r, nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if r.Namespace == "" {
			r.Namespace = a.opts.DefaultNamespace
		}
	} else {
		r.Namespace = ""
	}
	return r, m, nil
}

// deleteIfOurs deletes the object if it still exists, carries config's
// labels and was not adopted; it returns the deleted object's uid ("" when
// nothing was deleted) and whether it was kept for being adopted.
func (a *Applier) deleteIfOurs(ctx context.Context, r ObjectRef, m *meta.RESTMapping, config string) (uid string, adopted bool, err error) {
	ri := a.resource(m, r.Namespace)
	live, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", r, err)
	}
	if !ours(live, config) {
		a.log.Info("not deleting an object without devloop's labels", zap.Stringer("object", r))
		return "", false, nil
	}
	if isAdopted(live) {
		a.log.Info("leaving an adopted object in place", zap.Stringer("object", r))
		return "", true, nil
	}
	if live.GetDeletionTimestamp() != nil {
		return string(live.GetUID()), false, nil
	}
	prop := metav1.DeletePropagationBackground
	liveUID := live.GetUID()
	err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &prop, Preconditions: &metav1.Preconditions{UID: &liveUID}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("deleting %s: %w", r, err)
	}
	return string(liveUID), false, nil
}

// Prune deletes the objects devloop applied for config (per its inventory)
// that are not in keep, except PersistentVolumeClaims and namespaces devloop
// did not create. Objects that lost devloop's labels, and adopted ones, are
// never deleted. The inventory is rewritten (only when it changes) to keep.
// It returns the objects deleted.
func (a *Applier) Prune(ctx context.Context, config string, keep []ObjectRef) ([]ObjectRef, error) {
	inv, err := a.loadInventory(ctx, config, a.inventoryNamespaceOf(config), false)
	if err != nil {
		return nil, fmt.Errorf("pruning: %w", err)
	}
	keepSet := map[string]bool{}
	next := &inventory{namespace: inv.namespace, stale: inv.stale}
	for _, r := range keep {
		if n, _, err := a.normalize(r); err == nil {
			r = n
		}
		if !keepSet[r.key()] {
			keepSet[r.key()] = true
			next.Objects = append(next.Objects, r)
		}
	}
	var pruned, namespaces []ObjectRef
	var errs []error
	prune := func(r ObjectRef) {
		r, m, err := a.normalize(r)
		if err != nil {
			if meta.IsNoMatchError(err) {
				return // its CRD is gone, and so is the object
			}
			errs = append(errs, err)
			next.Objects = append(next.Objects, r)
			return
		}
		if inv.adopted(r) {
			a.log.Info("left the manifests; adopted, so left in place", zap.Stringer("object", r))
			return
		}
		uid, _, err := a.deleteIfOurs(ctx, r, m, config)
		if err != nil {
			errs = append(errs, err)
			next.Objects = append(next.Objects, r)
			return
		}
		if uid != "" {
			pruned = append(pruned, r)
		}
	}
	for _, r := range inv.Objects {
		switch {
		case keepSet[r.key()]:
		case isPVC(r):
			next.Objects = append(next.Objects, r)
		case isNamespace(r):
			namespaces = append(namespaces, r)
		default:
			prune(r)
		}
	}
	for _, r := range namespaces {
		if inv.createdNamespace(r.Name) {
			prune(r)
		}
	}
	for _, n := range inv.Namespaces {
		if keepSet[ObjectRef{Kind: "Namespace", Name: n}.key()] {
			next.Namespaces = append(next.Namespaces, n)
		}
	}
	for _, r := range inv.Adopted {
		if keepSet[r.key()] {
			next.Adopted = append(next.Adopted, r)
		}
	}
	if !sameInventory(inv, next) || len(next.stale) > 0 {
		if err := a.saveInventory(ctx, config, next); err != nil {
			errs = append(errs, err)
		}
	}
	if len(pruned) > 0 {
		a.log.Info("pruned", zap.Int("objects", len(pruned)))
	}
	if err := errors.Join(errs...); err != nil {
		return pruned, fmt.Errorf("pruning: %w", err)
	}
	return pruned, nil
}

func sameInventory(a, b *inventory) bool {
	if len(a.Objects) != len(b.Objects) || len(a.Namespaces) != len(b.Namespaces) || len(a.Adopted) != len(b.Adopted) {
		return false
	}
	for _, r := range b.Adopted {
		if !a.adopted(r) {
			return false
		}
	}
	for _, r := range b.Objects {
		if !a.has(r) {
			return false
		}
	}
	for _, n := range b.Namespaces {
		if !a.createdNamespace(n) {
			return false
		}
	}
	return true
}

// waitAllGone waits until each deleted object (by uid) is gone.
func (a *Applier) waitAllGone(ctx context.Context, gone map[ObjectRef]string, timeout time.Duration) error {
	for r, uid := range gone {
		m, err := a.mapping(r.GroupVersionKind())
		if err != nil {
			continue
		}
		if err := waitGone(ctx, a.resource(m, r.Namespace), r.Name, uid, timeout); err != nil {
			return fmt.Errorf("waiting for %s to be deleted: %w", r, err)
		}
	}
	return nil
}
