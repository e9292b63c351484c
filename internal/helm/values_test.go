package helm

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
)

func TestValues(t *testing.T) {
	dir := t.TempDir()
	f1 := filepath.Join(dir, "a.yaml")
	f2 := filepath.Join(dir, "b.yaml")
	if err := os.WriteFile(f1, []byte("web:\n  replicas: 3\n  title: a\nstore: {size: 1Gi}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f2, []byte("web:\n  title: b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := config.HelmRelease{
		Name: "notes", ValuesPaths: []string{f1, f2},
		SetValues:   map[string]string{"web.replicas": "1", "web.debug": "true", "web.name": "x1", "web.none": "null"},
		ImageValues: map[string]string{"web.image": "notes-web", "seed.image": "notes-seed"},
	}
	got, err := Values(r, map[string]string{"notes-web": "127.0.0.1:5000/notes-web@sha256:abc"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"web": map[string]any{
			"replicas": int64(1), "title": "b", "debug": true, "name": "x1", "none": nil,
			"image": "127.0.0.1:5000/notes-web@sha256:abc",
		},
		"store": map[string]any{"size": "1Gi"},
		// Not built yet: the artifact's own name.
		"seed": map[string]any{"image": "notes-seed"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}

func TestValuesErrors(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(f, []byte("web: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]config.HelmRelease{
		"scalar on the way": {Name: "n", ValuesPaths: []string{f}, SetValues: map[string]string{"web.replicas": "1"}},
		"empty segment":     {Name: "n", ImageValues: map[string]string{"web..image": "x"}},
		"missing file":      {Name: "n", ValuesPaths: []string{filepath.Join(dir, "nope.yaml")}},
	} {
		if _, err := Values(r, nil); err == nil || !strings.Contains(err.Error(), "release n") {
			t.Errorf("%s: got %v, want an error naming the release", name, err)
		}
	}
}

func TestPostRender(t *testing.T) {
	in := `---
# Source: notes/templates/web.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations: {postrenderer.helm.sh/postrender-filename: templates/web.yaml}
spec:
  template:
    spec:
      containers:
        - {name: web, image: "notes-web:1"}
        - {name: side, image: busybox}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store}
spec:
  template:
    spec:
      containers: [{name: store, image: notes-store}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cache}
---
`
	out, err := postRenderer{images: map[string]string{"notes-web": "notes-web:abc", "notes-store": "notes-store:def"}, configName: "notes"}.Run(bytes.NewBufferString(in))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseManifests(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 {
		t.Fatalf("got %d objects:\n%s", len(objs), out)
	}
	web, sts, pvc := objs[0], objs[1], objs[2]
	if web.GetAnnotations()["postrenderer.helm.sh/postrender-filename"] != "templates/web.yaml" {
		t.Errorf("Helm's annotation lost: %v", web.GetAnnotations())
	}
	if !strings.Contains(out.String(), "image: notes-web:abc") || !strings.Contains(out.String(), "image: busybox") || !strings.Contains(out.String(), "image: notes-store:def") {
		t.Errorf("images not rewritten:\n%s", out)
	}
	for _, o := range objs {
		if o.GetLabels()[deploy.LabelConfig] != "notes" {
			t.Errorf("%s lacks the config label", o.GetName())
		}
		if o.GetLabels()[deploy.LabelManagedBy] != "" {
			t.Errorf("%s got a managed-by label: Helm's to set", o.GetName())
		}
	}
	claims := sts.Object["spec"].(map[string]any)["volumeClaimTemplates"].([]any)
	cl := claims[0].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)
	if cl[deploy.LabelManagedBy] != deploy.ManagedByValue || cl[deploy.LabelConfig] != "notes" {
		t.Errorf("claim template labels %v, want devloop's", cl)
	}
	tl := web.Object["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["labels"].(map[string]any)
	if tl[deploy.LabelManagedBy] != deploy.ManagedByValue || tl[deploy.LabelConfig] != "notes" {
		t.Errorf("pod template labels %v, want devloop's", tl)
	}
	if pvc.GetAnnotations()[deploy.AnnotationHelmResourcePolicy] != "keep" {
		t.Errorf("PVC annotations %v, want resource-policy keep", pvc.GetAnnotations())
	}
}
