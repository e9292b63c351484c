package deploy

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
)

func labelled(apiVersion, kind, ns, name string, labels map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func TestCheckOtherConfigs(t *testing.T) {
	devloopOf := func(cfg string) map[string]string {
		return map[string]string{LabelManagedBy: ManagedByValue, LabelConfig: cfg}
	}
	objs := []runtime.Object{
		// ns "mine": this config's objects, its inventory, a hand-made object,
		// and an object of another config that the manifests name too.
		labelled("apps/v1", "Deployment", "mine", "web", devloopOf("notes")),
		labelled("v1", "ConfigMap", "mine", InventoryName("notes"), map[string]string{LabelManagedBy: ManagedByValue, LabelInventory: "notes"}),
		labelled("v1", "Service", "mine", "handmade", nil),
		labelled("v1", "ConfigMap", "mine", "settings", devloopOf("shop")),
		// ns "shared": another config's inventory only.
		labelled("v1", "ConfigMap", "shared", InventoryName("shop"), map[string]string{LabelManagedBy: ManagedByValue, LabelInventory: "shop"}),
		// ns "busy": another config's StatefulSet.
		labelled("apps/v1", "StatefulSet", "busy", "db", devloopOf("shop")),
	}
	lists := map[schema.GroupVersionResource]string{
		{Version: "v1", Resource: "configmaps"}:                  "ConfigMapList",
		{Version: "v1", Resource: "services"}:                    "ServiceList",
		{Group: "apps", Version: "v1", Resource: "deployments"}:  "DeploymentList",
		{Group: "apps", Version: "v1", Resource: "statefulsets"}: "StatefulSetList",
	}
	a := NewApplier(dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...), nil, nil, zap.NewNop(), ApplierOptions{})
	ctx := context.Background()

	mine := []ObjectRef{{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "mine", Name: "web"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "mine", Name: "settings"}}
	if errs := a.checkOtherConfigs(ctx, "notes", mine); len(errs) != 0 {
		t.Fatalf("own namespace refused: %v (an object the manifests name is the per-object check's)", errs)
	}
	for _, ns := range []string{"shared", "busy"} {
		errs := a.checkOtherConfigs(ctx, "notes", []ObjectRef{{Version: "v1", Kind: "ConfigMap", Namespace: ns, Name: "x"}})
		if len(errs) != 1 {
			t.Fatalf("namespace %s with another config: %v, want one refusal", ns, errs)
		}
		var oe *OtherConfigError
		if !errors.As(errs[0], &oe) || oe.OtherConfig != "shop" || oe.Namespace != ns {
			t.Fatalf("refusal %v", errs[0])
		}
		msg := errs[0].Error()
		for _, want := range []string{`"shop"`, `"notes"`, ns, "dev-${USER}", "devloop delete"} {
			if !strings.Contains(msg, want) {
				t.Errorf("refusal %q does not name %q", msg, want)
			}
		}
	}
	// A free namespace is asked once per config and session.
	a.checkOtherConfigs(ctx, "shop", []ObjectRef{{Version: "v1", Kind: "ConfigMap", Namespace: "busy", Name: "x"}})
	if !a.shared.isFree("shop", "busy") || a.shared.isFree("notes", "busy") {
		t.Fatal("free namespaces not remembered per config")
	}
}
