package deploy

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func obj(apiVersion, kind, name string, spec map[string]interface{}) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": apiVersion, "kind": kind, "metadata": map[string]interface{}{"name": name, "namespace": "ns"},
	}}
	if spec != nil {
		u.Object["spec"] = spec
	}
	return u
}

func job(image string, parallelism int64) *unstructured.Unstructured {
	return obj("batch/v1", "Job", "j", map[string]interface{}{
		"parallelism": parallelism,
		"template": map[string]interface{}{"spec": map[string]interface{}{
			"restartPolicy": "Never",
			"containers":    []interface{}{map[string]interface{}{"name": "c", "image": image}},
		}},
	})
}

func mustPrepare(t *testing.T, u *unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	p, err := prepare(u)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// liveOf simulates the server's copy: what was applied, plus server fields.
func liveOf(applied *unstructured.Unstructured) *unstructured.Unstructured {
	l := applied.DeepCopy()
	l.SetResourceVersion("42")
	l.SetUID("u-1")
	l.Object["status"] = map[string]interface{}{"succeeded": int64(1)}
	return l
}

func TestDecideHashSkip(t *testing.T) {
	cm := obj("v1", "ConfigMap", "c", nil)
	cm.Object["data"] = map[string]interface{}{"a": "1"}
	desired := mustPrepare(t, cm)
	if d := decide(desired, nil); d != decideApply {
		t.Errorf("no live object: %v, want apply", d)
	}
	if d := decide(desired, liveOf(desired)); d != decideSkip {
		t.Errorf("identical: %v, want skip", d)
	}
	// Preparing an already prepared object gives the same hash.
	if again := mustPrepare(t, desired); again.GetAnnotations()[AnnotationAppliedHash] != desired.GetAnnotations()[AnnotationAppliedHash] {
		t.Errorf("hash not stable under re-prepare")
	}
	changed := cm.DeepCopy()
	changed.Object["data"] = map[string]interface{}{"a": "2"}
	if d := decide(mustPrepare(t, changed), liveOf(desired)); d != decideApply {
		t.Errorf("changed: %v, want apply", d)
	}
	deleting := liveOf(desired)
	now := metav1.Now()
	deleting.SetDeletionTimestamp(&now)
	if d := decide(desired, deleting); d != decideApply {
		t.Errorf("live being deleted: %v, want apply", d)
	}
}

func TestDecideJob(t *testing.T) {
	applied := mustPrepare(t, job("worker:1", 1))
	live := liveOf(applied)
	if d := decide(mustPrepare(t, job("worker:1", 1)), live); d != decideSkip {
		t.Errorf("unchanged completed Job: %v, want skip", d)
	}
	if d := decide(mustPrepare(t, job("worker:2", 1)), live); d != decideRecreate {
		t.Errorf("changed template: %v, want recreate", d)
	}
	if d := decide(mustPrepare(t, job("worker:1", 2)), live); d != decideApply {
		t.Errorf("changed parallelism only: %v, want apply", d)
	}
	dep := obj("apps/v1", "Deployment", "d", map[string]interface{}{"template": map[string]interface{}{"spec": map[string]interface{}{"containers": []interface{}{}}}})
	dep2 := dep.DeepCopy()
	_ = unstructured.SetNestedField(dep2.Object, "x", "spec", "template", "spec", "hostname")
	if d := decide(mustPrepare(t, dep2), liveOf(mustPrepare(t, dep))); d != decideApply {
		t.Errorf("Deployment template change: %v, want apply (never recreate)", d)
	}
}

func TestPhasesOrder(t *testing.T) {
	in := []*unstructured.Unstructured{
		obj("apps/v1", "Deployment", "d", nil),
		obj("v1", "Namespace", "n1", nil),
		obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "c", nil),
		obj("v1", "ConfigMap", "cm", nil),
		obj("example.com/v1", "Namespace", "not-core", nil),
		obj("v1", "Namespace", "n2", nil),
	}
	ns, crds, rest := phases(in)
	names := func(l []*unstructured.Unstructured) string {
		var s []string
		for _, o := range l {
			s = append(s, o.GetName())
		}
		return strings.Join(s, ",")
	}
	if names(ns) != "n1,n2" || names(crds) != "c" || names(rest) != "d,cm,not-core" {
		t.Errorf("phases: %q %q %q", names(ns), names(crds), names(rest))
	}
}

func TestImmutableFields(t *testing.T) {
	gk := schema.GroupKind{Group: "apps", Kind: "Deployment"}
	err := apierrors.NewInvalid(gk, "web", field.ErrorList{field.Invalid(field.NewPath("spec", "selector"), "x", "field is immutable")})
	if got := immutableFields(err); len(got) != 1 || got[0] != "spec.selector" {
		t.Errorf("immutableFields = %v", got)
	}
	sts := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, "db", field.ErrorList{field.Forbidden(field.NewPath("spec"), "updates to statefulset spec for fields other than 'replicas' are forbidden")})
	if got := immutableFields(sts); len(got) != 1 || got[0] != "spec" {
		t.Errorf("immutableFields(sts) = %v", got)
	}
	if got := immutableFields(apierrors.NewInvalid(gk, "web", field.ErrorList{field.Required(field.NewPath("spec", "template"), "")})); got != nil {
		t.Errorf("a plain invalid error is not immutable: %v", got)
	}
	if got := immutableFields(errors.New("boom")); got != nil {
		t.Errorf("plain error: %v", got)
	}
	oe := &ObjectError{Ref: ObjectRef{Group: "apps", Kind: "Deployment", Namespace: "ns", Name: "web"}, Fields: []string{"spec.selector"}, Err: err}
	for _, want := range []string{"Deployment/ns/web", "spec.selector", "--force"} {
		if !strings.Contains(oe.Error(), want) {
			t.Errorf("%q lacks %q", oe.Error(), want)
		}
	}
}

func TestApplyErrorSaysWhatWasApplied(t *testing.T) {
	e := &ApplyError{
		Failed:     []*ObjectError{{Ref: ObjectRef{Kind: "ConfigMap", Namespace: "gone", Name: "c"}, MissingNamespace: "gone", Err: errors.New("not found")}},
		Applied:    []ObjectResult{{Ref: ObjectRef{Kind: "Secret", Namespace: "a", Name: "s"}, Action: ActionCreated}, {Ref: ObjectRef{Kind: "Service", Namespace: "a", Name: "x"}, Action: ActionUnchanged}},
		NotApplied: []ObjectRef{{Group: "apps", Kind: "Deployment", Namespace: "a", Name: "d"}},
	}
	msg := e.Error()
	for _, want := range []string{`namespace "gone" does not exist`, "ConfigMap/gone/c", "already applied in this pass: Secret/a/s (created)", "not applied: Deployment/a/d"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "Service/a/x") {
		t.Errorf("unchanged objects listed as applied: %q", msg)
	}
	var oe *ObjectError
	if !errors.As(e, &oe) || oe.MissingNamespace != "gone" {
		t.Errorf("errors.As through ApplyError failed")
	}
}

func TestInventoryCompare(t *testing.T) {
	a := &inventory{Objects: []ObjectRef{{Kind: "ConfigMap", Namespace: "n", Name: "a", Version: "v1"}}, Namespaces: []string{"n"}}
	b := a.clone()
	b.Objects[0].Version = "v2"
	if !sameInventory(a, b) {
		t.Errorf("a version change alone is not an inventory change")
	}
	b.Objects = append(b.Objects, ObjectRef{Kind: "Secret", Namespace: "n", Name: "s"})
	if sameInventory(a, b) {
		t.Errorf("an added object is a change")
	}
}
