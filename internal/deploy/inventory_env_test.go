package deploy

import (
	"context"
	"errors"
	"testing"

	"github.com/devloop-dev/devloop/internal/testenv"
	"go.uber.org/zap/zaptest"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const twoConfigMaps = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: NS}\ndata: {a: b}\n---\n" +
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dropped, namespace: NS}\ndata: {a: b}\n"

// TestInventoryMovesToTheAppNamespace: an inventory kept in "default" by an
// older devloop is moved to the app's namespace by the next apply, and the
// prune that follows still knows what devloop applied there.
func TestInventoryMovesToTheAppNamespace(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "invmove")
	config := "mv-" + ns
	ctx := context.Background()
	render := func(docs string) []*unstructured.Unstructured {
		objs := parse(t, ns, docs)
		if err := Transform(objs, RenderOptions{ConfigName: config}); err != nil {
			t.Fatal(err)
		}
		return objs
	}
	legacy, err := NewApplierForConfig(restConfig(t, env), zaptest.NewLogger(t), ApplierOptions{InventoryNamespace: "default"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = legacy.Delete(context.Background(), config, DeleteOptions{}) })
	if _, err := legacy.Apply(ctx, render(twoConfigMaps), ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := legacy.dyn.Resource(configMapGVR)
	if _, err := cms.Namespace("default").Get(ctx, InventoryName(config), metav1.GetOptions{}); err != nil {
		t.Fatalf("the legacy inventory is not in default: %v", err)
	}

	a, err := NewApplierForConfig(restConfig(t, env), zaptest.NewLogger(t), ApplierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	objs := render(twoConfigMaps)[:1]
	res, err := a.Apply(ctx, objs, ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Writes != 2 { // the inventory saved in ns, the legacy one deleted
		t.Errorf("apply after the move: %d writes, want 2", res.Writes)
	}
	if _, err := cms.Namespace(ns).Get(ctx, InventoryName(config), metav1.GetOptions{}); err != nil {
		t.Errorf("the inventory is not in the app's namespace %s: %v", ns, err)
	}
	if _, err := cms.Namespace("default").Get(ctx, InventoryName(config), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the legacy inventory in default is still there: %v", err)
	}
	pruned, err := a.Prune(ctx, config, []ObjectRef{RefOf(objs[0])})
	if err != nil || len(pruned) != 1 || pruned[0].Name != "dropped" {
		t.Errorf("prune after the move: %v, %v; want ConfigMap dropped (known from the moved inventory)", pruned, err)
	}
}

// TestAdoptedObjectsAreNeverDeleted: a foreign object is refused, then
// adopted on request, and neither prune nor delete removes it.
func TestAdoptedObjectsAreNeverDeleted(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "adopt")
	config := "ad-" + ns
	ctx := context.Background()
	a, err := NewApplierForConfig(restConfig(t, env), zaptest.NewLogger(t), ApplierOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = a.Delete(context.Background(), config, DeleteOptions{}) })
	cms := a.dyn.Resource(configMapGVR).Namespace(ns)
	hand := parse(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: NS}\ndata: {a: hand}\n")[0]
	if _, err := cms.Create(ctx, hand, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := parse(t, ns, twoConfigMaps)
	if err := Transform(objs, RenderOptions{ConfigName: config}); err != nil {
		t.Fatal(err)
	}
	_, err = a.Apply(ctx, objs, ApplyOptions{})
	var fe *ForeignError
	if !errors.As(err, &fe) {
		t.Fatalf("apply over a hand-made object: %v, want a ForeignError", err)
	}
	if _, err := cms.Get(ctx, "dropped", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused pass applied its other object: %v", err)
	}
	res, err := a.Apply(ctx, objs, ApplyOptions{Adopt: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		if want := map[string]Action{"kept": ActionAdopted, "dropped": ActionCreated}[o.Ref.Name]; o.Action != want {
			t.Errorf("%s: %s, want %s", o.Ref, o.Action, want)
		}
	}
	// Out of the manifests: pruned if devloop made it, left if adopted.
	if pruned, err := a.Prune(ctx, config, nil); err != nil || len(pruned) != 1 || pruned[0].Name != "dropped" {
		t.Errorf("prune: %v, %v; want only ConfigMap dropped", pruned, err)
	}
	if _, err := a.Apply(ctx, objs[:1], ApplyOptions{}); err != nil {
		t.Fatalf("apply of the adopted object again, without Adopt: %v", err)
	}
	del, err := a.Delete(ctx, config, DeleteOptions{Wait: true})
	if err != nil || len(del.Adopted) != 1 || del.Adopted[0].Name != "kept" || len(del.Deleted) != 0 {
		t.Errorf("delete: %+v, %v; want ConfigMap kept left in place as adopted, nothing deleted", del, err)
	}
	if _, err := cms.Get(ctx, "kept", metav1.GetOptions{}); err != nil {
		t.Errorf("the adopted ConfigMap is gone: %v", err)
	}
}
