package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// LabelInventory marks an inventory ConfigMap with its config's name.
const LabelInventory = "devloop.dev/inventory"

var configMapGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// legacyInventoryNamespace is where devloop kept every inventory before it
// kept them in the app's namespace; an inventory found there is moved.
const legacyInventoryNamespace = "default"

// inventory is what devloop applied for one config: every object, the
// namespaces it created (the only ones it may delete) and the objects it
// adopted (never deleted).
type inventory struct {
	Objects    []ObjectRef `json:"objects"`
	Namespaces []string    `json:"createdNamespaces"`
	Adopted    []ObjectRef `json:"adopted,omitempty"`

	// namespace holds the inventory's ConfigMap; stale are other namespaces
	// holding an older copy, deleted once it is saved in namespace.
	namespace string
	stale     []string
}

// InventoryName is the name of a config's inventory ConfigMap.
func InventoryName(config string) string { return "devloop-inventory-" + config }

func inventoryRef(ns, config string) ObjectRef {
	return ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: InventoryName(config)}
}

func (inv *inventory) has(r ObjectRef) bool {
	for _, o := range inv.Objects {
		if o.key() == r.key() {
			return true
		}
	}
	return false
}

func (inv *inventory) createdNamespace(name string) bool {
	for _, n := range inv.Namespaces {
		if n == name {
			return true
		}
	}
	return false
}

func (inv *inventory) adopted(r ObjectRef) bool {
	for _, o := range inv.Adopted {
		if o.key() == r.key() {
			return true
		}
	}
	return false
}

func (inv *inventory) clone() *inventory {
	return &inventory{
		Objects: append([]ObjectRef(nil), inv.Objects...), Namespaces: append([]string(nil), inv.Namespaces...),
		Adopted: append([]ObjectRef(nil), inv.Adopted...), namespace: inv.namespace, stale: append([]string(nil), inv.stale...),
	}
}

// merge adds o's records to inv.
func (inv *inventory) merge(o *inventory) {
	for _, r := range o.Objects {
		if !inv.has(r) {
			inv.Objects = append(inv.Objects, r)
		}
	}
	for _, n := range o.Namespaces {
		if !inv.createdNamespace(n) {
			inv.Namespaces = append(inv.Namespaces, n)
		}
	}
	for _, r := range o.Adopted {
		if !inv.adopted(r) {
			inv.Adopted = append(inv.Adopted, r)
		}
	}
}

// loadInventory returns the config's inventory kept in namespace, from this
// Applier's memory when it has it, else from the cluster (empty when there
// is none). An inventory remembered in another namespace (the app moved), or
// found only in the legacy namespace "default", is carried over: it is saved
// in namespace, and the old copy deleted, by the next saveInventory.
func (a *Applier) loadInventory(ctx context.Context, config, namespace string, fresh bool) (*inventory, error) {
	a.mu.Lock()
	inv, ok := a.inv[config]
	a.mu.Unlock()
	if ok && !fresh {
		inv = inv.clone()
		if inv.namespace != namespace {
			inv.stale = append(inv.stale, inv.namespace)
			inv.namespace = namespace
		}
		return inv, nil
	}
	inv, found, err := a.readInventory(ctx, config, namespace)
	if err != nil {
		return nil, err
	}
	if !found && namespace != legacyInventoryNamespace {
		old, oldFound, err := a.readInventory(ctx, config, legacyInventoryNamespace)
		switch {
		case err != nil && !apierrors.IsForbidden(err):
			return nil, err
		case oldFound:
			a.log.Info("moving the inventory from the default namespace", zap.String("config", config), zap.String("to", namespace))
			inv.merge(old)
			inv.stale = append(inv.stale, legacyInventoryNamespace)
		}
	}
	a.mu.Lock()
	a.inv[config] = inv.clone()
	a.mu.Unlock()
	return inv, nil
}

// inventoryNamespaceOf is where the inventory of config was last seen by
// this Applier, else ApplierOptions.InventoryNamespace, else DefaultNamespace.
func (a *Applier) inventoryNamespaceOf(config string) string {
	a.mu.Lock()
	inv, ok := a.inv[config]
	a.mu.Unlock()
	switch {
	case ok:
		return inv.namespace
	case a.opts.InventoryNamespace != "":
		return a.opts.InventoryNamespace
	}
	return a.opts.DefaultNamespace
}

// readInventory reads the inventory ConfigMap of config in namespace.
func (a *Applier) readInventory(ctx context.Context, config, namespace string) (*inventory, bool, error) {
	inv := &inventory{namespace: namespace}
	cm, err := a.dyn.Resource(configMapGVR).Namespace(namespace).Get(ctx, InventoryName(config), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return inv, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("reading the inventory of %q in %s: %w", config, namespace, err)
	}
	if data, _, _ := unstructured.NestedString(cm.Object, "data", "inventory"); data != "" {
		if err := json.Unmarshal([]byte(data), inv); err != nil {
			return nil, false, fmt.Errorf("reading the inventory of %q in %s: %w", config, namespace, err)
		}
	}
	return inv, true, nil
}

// saveInventory writes the inventory (one write, plus one delete per stale
// copy) and remembers it.
func (a *Applier) saveInventory(ctx context.Context, config string, inv *inventory) error {
	sortRefs(inv.Objects)
	sortRefs(inv.Adopted)
	data, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("writing the inventory of %q: %w", config, err)
	}
	cm := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]interface{}{
			"name": InventoryName(config), "namespace": inv.namespace,
			"labels": map[string]interface{}{LabelManagedBy: ManagedByValue, LabelInventory: config},
		},
		"data": map[string]interface{}{"inventory": string(data), "updated": time.Now().UTC().Format(time.RFC3339)},
	}}
	_, err = a.dyn.Resource(configMapGVR).Namespace(inv.namespace).Apply(ctx, cm.GetName(), cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("writing the inventory of %q in %s: %w", config, inv.namespace, err)
	}
	for _, ns := range inv.stale {
		if ns == inv.namespace {
			continue
		}
		err := a.dyn.Resource(configMapGVR).Namespace(ns).Delete(ctx, InventoryName(config), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting the old inventory of %q in %s: %w", config, ns, err)
		}
	}
	inv.stale = nil
	a.mu.Lock()
	a.inv[config] = inv.clone()
	a.mu.Unlock()
	return nil
}

// dropInventory deletes the inventory ConfigMap (and stale copies) and
// forgets it.
func (a *Applier) dropInventory(ctx context.Context, config string, inv *inventory) error {
	var errs []error
	for _, ns := range append([]string{inv.namespace}, inv.stale...) {
		err := a.dyn.Resource(configMapGVR).Namespace(ns).Delete(ctx, InventoryName(config), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("deleting the inventory in %s: %w", ns, err))
		}
	}
	a.mu.Lock()
	delete(a.inv, config)
	a.mu.Unlock()
	return errors.Join(errs...)
}

// recordApplied adds refs, created namespaces and adopted objects to the
// inventory kept in namespace, writing it only when it changes (or moves).
// It returns the writes made.
func (a *Applier) recordApplied(ctx context.Context, config, namespace string, refs []ObjectRef, createdNS []string, adopted []ObjectRef) (int, error) {
	inv, err := a.loadInventory(ctx, config, namespace, false)
	if err != nil {
		return 0, err
	}
	changed := len(inv.stale) > 0
	add := &inventory{Objects: refs, Namespaces: createdNS, Adopted: adopted}
	before := inv.clone()
	inv.merge(add)
	if !sameInventory(before, inv) {
		changed = true
	}
	if !changed {
		return 0, nil
	}
	return 1 + len(inv.stale), a.saveInventory(ctx, config, inv)
}

// InventoryNamespace is where the inventory of an app whose namespaced
// objects are in namespaces is kept: their namespace when they share one,
// else (several namespaces, or none) fallback, the kube context's namespace.
func InventoryNamespace(namespaces []string, fallback string) string {
	one := ""
	for _, ns := range namespaces {
		if ns == "" {
			continue
		}
		if one != "" && ns != one {
			return fallback
		}
		one = ns
	}
	if one == "" {
		return fallback
	}
	return one
}

// AppNamespaces lists the namespaces of the namespaced objects among objs as
// they will be applied (those naming none go to defaultNamespace); scope
// tells which kinds are namespaced (kinds it cannot tell are left out).
func AppNamespaces(objs []*unstructured.Unstructured, scope ScopeFunc, defaultNamespace string) []string {
	var out []string
	for _, o := range objs {
		namespaced, err := scope(o.GroupVersionKind())
		if err != nil || !namespaced {
			continue
		}
		ns := o.GetNamespace()
		if ns == "" {
			ns = defaultNamespace
		}
		out = append(out, ns)
	}
	return out
}
