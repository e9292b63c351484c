package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/testenv"
	"go.uber.org/zap/zaptest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const adoptCM = `
apiVersion: v1
kind: ConfigMap
metadata: {name: handmade, namespace: NS, labels: {tier: web}}
data: {owner: devloop, MODE: dev}
`

// TestAdoptReplacesAndOwnsOnCluster: adopting a hand-made ConfigMap makes it
// exactly the manifest's (the key and label only kubectl set are gone), the
// preview says so beforehand without writing, devloop's apply is then the
// only manager of the object, so a key later removed from the manifest is
// removed from the object.
func TestAdoptReplacesAndOwnsOnCluster(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "adoptown")
	config := "ad-" + ns[len(ns)-5:]
	ctx := context.Background()
	a, err := NewApplierForConfig(restConfig(t, env), zaptest.NewLogger(t), ApplierOptions{InventoryNamespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	render := func(docs string) []*unstructured.Unstructured {
		objs := parse(t, ns, docs)
		if err := Transform(objs, RenderOptions{ConfigName: config}); err != nil {
			t.Fatal(err)
		}
		return objs
	}
	t.Cleanup(func() { _, _ = a.Delete(context.Background(), config, DeleteOptions{}) })
	env.Kubectl(t, "-n", ns, "create", "configmap", "handmade", "--from-literal=owner=human", "--from-literal=extra=1")
	env.Kubectl(t, "-n", ns, "label", "configmap", "handmade", "hand=yes")
	cms := a.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(ns)
	get := func() *unstructured.Unstructured {
		t.Helper()
		u, err := cms.Get(ctx, "handmade", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	rvBefore := get().GetResourceVersion()

	previews, err := a.PreviewAdoption(ctx, render(adoptCM), config)
	if err != nil || len(previews) != 1 || previews[0].Err != nil {
		t.Fatalf("PreviewAdoption = %+v, %v; want one preview without error", previews, err)
	}
	var pv []string
	for _, c := range previews[0].Changes {
		pv = append(pv, c.String())
	}
	for _, want := range []string{`- data.extra: "1"`, `~ data.owner: "human" → "devloop"`, `+ data.MODE: "dev"`, `- metadata.labels.hand: "yes"`} {
		if !strings.Contains(strings.Join(pv, "\n"), want) {
			t.Errorf("preview lacks %q:\n%s", want, strings.Join(pv, "\n"))
		}
	}
	if rv := get().GetResourceVersion(); rv != rvBefore {
		t.Errorf("the preview wrote the object (resourceVersion %s → %s)", rvBefore, rv)
	}

	res, err := a.Apply(ctx, render(adoptCM), ApplyOptions{Adopt: true})
	if err != nil {
		t.Fatalf("adopting: %v", err)
	}
	if len(res.Objects) != 1 || res.Objects[0].Action != ActionAdopted || res.Objects[0].Previous == nil || len(res.Objects[0].Changes) == 0 {
		t.Fatalf("adopting: %+v, want adopted with the previous object and the changes", res.Objects)
	}
	if d, _, _ := unstructured.NestedStringMap(res.Objects[0].Previous, "data"); d["extra"] != "1" || d["owner"] != "human" {
		t.Errorf("the previous object recorded is not the hand-made one: data %v", d)
	}
	u := get()
	if d, _, _ := unstructured.NestedStringMap(u.Object, "data"); len(d) != 2 || d["owner"] != "devloop" || d["MODE"] != "dev" {
		t.Errorf("adopted data %v, want exactly the manifest's {owner: devloop, MODE: dev}", d)
	}
	if l := u.GetLabels(); l["hand"] != "" || l["tier"] != "web" || l[LabelConfig] != config {
		t.Errorf("adopted labels %v: the hand-made one must go, the manifest's and devloop's stay", l)
	}
	for _, mf := range u.GetManagedFields() {
		if mf.Manager != FieldManager || mf.Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("managedFields entry %s/%s after the adoption: devloop's apply must own the object alone", mf.Manager, mf.Operation)
		}
	}

	// A key removed from the manifest leaves the object.
	res, err = a.Apply(ctx, render(strings.Replace(adoptCM, ", MODE: dev", "", 1)), ApplyOptions{})
	if err != nil || res.Objects[0].Action != ActionConfigured {
		t.Fatalf("applying without MODE: %+v, %v", res.Objects, err)
	}
	if d, _, _ := unstructured.NestedStringMap(get().Object, "data"); len(d) != 1 || d["owner"] != "devloop" {
		t.Errorf("data %v after MODE left the manifest, want {owner: devloop}", d)
	}
	if p, err := a.PreviewAdoption(ctx, render(adoptCM), config); err != nil || len(p) != 0 {
		t.Errorf("preview of an adopted object: %+v, %v; want nothing to adopt", p, err)
	}
}
