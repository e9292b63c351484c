package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// LabelInventory marks an inventory ConfigMap with its config's name.
const LabelInventory = "devloop.dev/inventory"

var configMapGVR = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

// inventory is what devloop applied for one config: every object, and the
// namespaces it created (the only ones it may delete).
type inventory struct {
	Objects    []ObjectRef `json:"objects"`
	Namespaces []string    `json:"createdNamespaces"`
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

func (inv *inventory) clone() *inventory {
	return &inventory{Objects: append([]ObjectRef(nil), inv.Objects...), Namespaces: append([]string(nil), inv.Namespaces...)}
}

// loadInventory returns the config's inventory, from this Applier's memory
// when it has it, else from the cluster (empty when there is none).
func (a *Applier) loadInventory(ctx context.Context, config string, fresh bool) (*inventory, error) {
	a.mu.Lock()
	inv, ok := a.inv[config]
	a.mu.Unlock()
	if ok && !fresh {
		return inv.clone(), nil
	}
	cm, err := a.dyn.Resource(configMapGVR).Namespace(a.opts.InventoryNamespace).Get(ctx, InventoryName(config), metav1.GetOptions{})
	inv = &inventory{}
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("reading the inventory of %q: %w", config, err)
	default:
		data, _, _ := unstructured.NestedString(cm.Object, "data", "inventory")
		if data != "" {
			if err := json.Unmarshal([]byte(data), inv); err != nil {
				return nil, fmt.Errorf("reading the inventory of %q: %w", config, err)
			}
		}
	}
	a.mu.Lock()
	a.inv[config] = inv.clone()
	a.mu.Unlock()
	return inv, nil
}

// saveInventory writes the inventory (one write) and remembers it.
func (a *Applier) saveInventory(ctx context.Context, config string, inv *inventory) error {
	sortRefs(inv.Objects)
	data, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("writing the inventory of %q: %w", config, err)
	}
	cm := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]interface{}{
			"name": InventoryName(config), "namespace": a.opts.InventoryNamespace,
			"labels": map[string]interface{}{LabelManagedBy: ManagedByValue, LabelInventory: config},
		},
		"data": map[string]interface{}{"inventory": string(data), "updated": time.Now().UTC().Format(time.RFC3339)},
	}}
	_, err = a.dyn.Resource(configMapGVR).Namespace(a.opts.InventoryNamespace).Apply(ctx, cm.GetName(), cm, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("writing the inventory of %q: %w", config, err)
	}
	a.mu.Lock()
	a.inv[config] = inv.clone()
	a.mu.Unlock()
	return nil
}

// recordApplied adds refs and created namespaces to the inventory, writing it
// only when the set grows. It returns the writes made.
func (a *Applier) recordApplied(ctx context.Context, config string, refs []ObjectRef, createdNS []string) (int, error) {
	inv, err := a.loadInventory(ctx, config, false)
	if err != nil {
		return 0, err
	}
	changed := false
	for _, r := range refs {
		if !inv.has(r) {
			inv.Objects = append(inv.Objects, r)
			changed = true
		}
	}
	for _, n := range createdNS {
		if !inv.createdNamespace(n) {
			inv.Namespaces = append(inv.Namespaces, n)
			changed = true
		}
	}
	if !changed {
		return 0, nil
	}
	return 1, a.saveInventory(ctx, config, inv)
}
