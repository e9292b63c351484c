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

// deleteIfOurs deletes the object if it still exists and carries config's
// labels; it returns the deleted object's uid ("" when nothing was deleted).
func (a *Applier) deleteIfOurs(ctx context.Context, r ObjectRef, m *meta.RESTMapping, config string) (string, error) {
	ri := a.resource(m, r.Namespace)
	live, err := ri.Get(ctx, r.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", r, err)
	}
	if !ours(live, config) {
		a.log.Info("not deleting an object without devloop's labels", zap.Stringer("object", r))
		return "", nil
	}
	if live.GetDeletionTimestamp() != nil {
		return string(live.GetUID()), nil
	}
	prop := metav1.DeletePropagationBackground
	uid := live.GetUID()
	err = ri.Delete(ctx, r.Name, metav1.DeleteOptions{PropagationPolicy: &prop, Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("deleting %s: %w", r, err)
	}
	return string(uid), nil
}

// Prune deletes the objects devloop applied for config (per its inventory)
// that are not in keep, except PersistentVolumeClaims and namespaces devloop
// did not create. Objects that lost devloop's labels are never deleted. The
// inventory is rewritten (only when it changes) to keep. It returns the
// objects deleted.
func (a *Applier) Prune(ctx context.Context, config string, keep []ObjectRef) ([]ObjectRef, error) {
	inv, err := a.loadInventory(ctx, config, false)
	if err != nil {
		return nil, fmt.Errorf("pruning: %w", err)
	}
	keepSet := map[string]bool{}
	next := &inventory{}
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
		uid, err := a.deleteIfOurs(ctx, r, m, config)
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
	if !sameInventory(inv, next) {
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
	if len(a.Objects) != len(b.Objects) || len(a.Namespaces) != len(b.Namespaces) {
		return false
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
