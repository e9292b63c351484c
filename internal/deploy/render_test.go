package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var testImages = map[string]string{
	"notes-web":    "notes-web:3f2a1b",
	"notes-worker": "127.0.0.1:5000/notes-worker@sha256:abcd",
}

func renderTestApp(t *testing.T, ns string) map[string]*unstructured.Unstructured {
	t.Helper()
	dir := filepath.Join("testdata", "app", "overlay")
	before := snapshot(t, filepath.Join("testdata", "app"))
	objs, err := Render(context.Background(), RenderOptions{Path: dir, Images: testImages, Namespace: ns, ConfigName: "notes"})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	if after := snapshot(t, filepath.Join("testdata", "app")); after != before {
		t.Fatalf("Render modified the user's files")
	}
	byKind := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		byKind[o.GetKind()] = o
	}
	return byKind
}

func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		b.WriteString(p + "\n" + string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func images(t *testing.T, u *unstructured.Unstructured, path ...string) []string {
	t.Helper()
	list, _, err := unstructured.NestedSlice(u.Object, path...)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list {
		out = append(out, c.(map[string]interface{})["image"].(string))
	}
	return out
}

func TestRenderRewritesImagesEverywhere(t *testing.T) {
	objs := renderTestApp(t, "")
	checks := []struct {
		kind string
		path []string
		want []string
	}{
		{"Deployment", []string{"spec", "template", "spec", "initContainers"}, []string{"notes-web:3f2a1b"}},
		{"Deployment", []string{"spec", "template", "spec", "containers"}, []string{"notes-web:3f2a1b", "busybox:1.36"}},
		{"Job", []string{"spec", "template", "spec", "containers"}, []string{"127.0.0.1:5000/notes-worker@sha256:abcd"}},
		{"StatefulSet", []string{"spec", "template", "spec", "containers"}, []string{"notes-web:3f2a1b"}},
		{"CronJob", []string{"spec", "jobTemplate", "spec", "template", "spec", "containers"}, []string{"127.0.0.1:5000/notes-worker@sha256:abcd"}},
	}
	for _, c := range checks {
		o := objs[c.kind]
		if o == nil {
			t.Fatalf("no %s rendered", c.kind)
		}
		if got := images(t, o, c.path...); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s %v: images %v, want %v", c.kind, c.path, got, c.want)
		}
	}
}

func TestRenderLabelsObjectsAndTemplatesNotSelectors(t *testing.T) {
	objs := renderTestApp(t, "")
	for kind, o := range objs {
		l := o.GetLabels()
		if l[LabelManagedBy] != "devloop" || l[LabelConfig] != "notes" {
			t.Errorf("%s labels %v", kind, l)
		}
	}
	for _, kind := range []string{"Deployment", "StatefulSet", "Job"} {
		tl, _, _ := unstructured.NestedStringMap(objs[kind].Object, "spec", "template", "metadata", "labels")
		if tl[LabelConfig] != "notes" || tl[LabelManagedBy] != "devloop" {
			t.Errorf("%s pod template labels %v", kind, tl)
		}
	}
	for _, p := range [][]string{{"spec", "jobTemplate", "metadata", "labels"}, {"spec", "jobTemplate", "spec", "template", "metadata", "labels"}} {
		tl, _, _ := unstructured.NestedStringMap(objs["CronJob"].Object, p...)
		if tl[LabelConfig] != "notes" {
			t.Errorf("CronJob %v: %v", p, tl)
		}
	}
	for _, kind := range []string{"Deployment", "StatefulSet"} {
		sel, _, _ := unstructured.NestedStringMap(objs[kind].Object, "spec", "selector", "matchLabels")
		if len(sel) != 1 || sel["app"] == "" {
			t.Errorf("%s selector changed: %v", kind, sel)
		}
	}
	if sel, _, _ := unstructured.NestedStringMap(objs["Service"].Object, "spec", "selector"); len(sel) != 1 {
		t.Errorf("Service selector changed: %v", sel)
	}
	claims, _, _ := unstructured.NestedSlice(objs["StatefulSet"].Object, "spec", "volumeClaimTemplates")
	cl := claims[0].(map[string]interface{})["metadata"].(map[string]interface{})["labels"].(map[string]interface{})
	if cl[LabelConfig] != "notes" {
		t.Errorf("claim template labels %v", cl)
	}
}

func TestRenderNamespaceOverride(t *testing.T) {
	objs := renderTestApp(t, "team-a")
	for kind, o := range objs {
		want := "team-a"
		if kind == "ClusterRole" {
			want = ""
		}
		if o.GetNamespace() != want {
			t.Errorf("%s namespace %q, want %q", kind, o.GetNamespace(), want)
		}
	}
	if objs := renderTestApp(t, ""); objs["Deployment"].GetNamespace() != "" {
		t.Errorf("namespace set without override")
	}
}

func TestRenderUnknownKindNeedsScope(t *testing.T) {
	cr := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]interface{}{"name": "w"}}}
	err := Transform([]*unstructured.Unstructured{cr.DeepCopy()}, RenderOptions{ConfigName: "c", Namespace: "x"})
	if err == nil || !strings.Contains(err.Error(), "namespaced") {
		t.Fatalf("want a scope error, got %v", err)
	}
	crd := &unstructured.Unstructured{Object: map[string]interface{}{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": map[string]interface{}{"name": "widgets.example.com"},
		"spec": map[string]interface{}{"group": "example.com", "scope": "Namespaced", "names": map[string]interface{}{"kind": "Widget"}},
	}}
	objs := []*unstructured.Unstructured{crd, cr}
	if err := Transform(objs, RenderOptions{ConfigName: "c", Namespace: "x"}); err != nil {
		t.Fatal(err)
	}
	if cr.GetNamespace() != "x" || crd.GetNamespace() != "" {
		t.Errorf("namespaces: cr %q crd %q", cr.GetNamespace(), crd.GetNamespace())
	}
}

func TestRenderMissingPath(t *testing.T) {
	_, err := Render(context.Background(), RenderOptions{Path: filepath.Join(t.TempDir(), "nope"), ConfigName: "c"})
	if err == nil {
		t.Fatal("want an error")
	}
}

func TestRedact(t *testing.T) {
	objs := renderTestApp(t, "")
	// Every rendered object can be copied (numbers decoded as client-go does).
	var all []*unstructured.Unstructured
	for _, o := range objs {
		all = append(all, o)
	}
	if got := Redact(all); len(got) != len(all) {
		t.Fatalf("Redact returned %d objects", len(got))
	}
	secret := objs["Secret"]
	red := Redact([]*unstructured.Unstructured{secret, objs["ConfigMap"]})
	data, _, _ := unstructured.NestedStringMap(red[0].Object, "data")
	if data["password"] != Redacted || len(data) != 1 {
		t.Errorf("redacted data %v", data)
	}
	orig, _, _ := unstructured.NestedStringMap(secret.Object, "data")
	if orig["password"] == Redacted {
		t.Errorf("Redact modified its input")
	}
	cm, _, _ := unstructured.NestedStringMap(red[1].Object, "data")
	if cm["MODE"] != "dev" {
		t.Errorf("ConfigMap changed: %v", cm)
	}
	s := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]interface{}{"name": "s"}, "stringData": map[string]interface{}{"k": "plain"}}}
	if v, _, _ := unstructured.NestedString(Redact([]*unstructured.Unstructured{s})[0].Object, "stringData", "k"); v != Redacted {
		t.Errorf("stringData %q", v)
	}
}

func TestTransformAddsPullSecrets(t *testing.T) {
	objs := []*unstructured.Unstructured{
		{Object: map[string]interface{}{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]interface{}{"name": "web"},
			"spec": map[string]interface{}{"template": map[string]interface{}{"spec": map[string]interface{}{
				"containers":       []interface{}{map[string]interface{}{"name": "web", "image": "web"}},
				"imagePullSecrets": []interface{}{map[string]interface{}{"name": "team-reg"}},
			}}}}},
		{Object: map[string]interface{}{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": map[string]interface{}{"name": "tick"},
			"spec": map[string]interface{}{"jobTemplate": map[string]interface{}{"spec": map[string]interface{}{"template": map[string]interface{}{"spec": map[string]interface{}{
				"containers": []interface{}{map[string]interface{}{"name": "t", "image": "t"}},
			}}}}}}},
		{Object: map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]interface{}{"name": "cm"}}},
	}
	if err := Transform(objs, RenderOptions{ConfigName: "notes", ImagePullSecrets: []string{"team-reg", "mine"}}); err != nil {
		t.Fatal(err)
	}
	names := func(u *unstructured.Unstructured, path ...string) []string {
		l, _, _ := unstructured.NestedSlice(u.Object, append(path, "imagePullSecrets")...)
		var out []string
		for _, e := range l {
			out = append(out, e.(map[string]interface{})["name"].(string))
		}
		return out
	}
	if got := names(objs[0], "spec", "template", "spec"); strings.Join(got, ",") != "team-reg,mine" {
		t.Errorf("Deployment imagePullSecrets = %v, want team-reg,mine (kept, none twice)", got)
	}
	if got := names(objs[1], "spec", "jobTemplate", "spec", "template", "spec"); strings.Join(got, ",") != "team-reg,mine" {
		t.Errorf("CronJob imagePullSecrets = %v", got)
	}
	if _, ok := objs[2].Object["spec"]; ok {
		t.Errorf("a ConfigMap got a spec: %v", objs[2].Object)
	}
}
