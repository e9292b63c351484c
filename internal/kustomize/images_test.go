package kustomize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetImagesKeepsCommentsAndOrder(t *testing.T) {
	in := `# the dev overlay
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../base # the base
images:
  - name: other # untouched
    newTag: "1.0"
  - name: notes-web
    newTag: old
namespace: notes
`
	dir := t.TempDir()
	p := filepath.Join(dir, "kustomization.yaml")
	if err := os.WriteFile(p, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	err := SetImages(p, map[string]string{
		"notes-web":   "notes-web:3f2a",
		"notes-store": "127.0.0.1:5000/notes-store@sha256:abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	got := string(b)
	for _, want := range []string{
		"# the dev overlay", "# the base", "# untouched",
		"  - name: notes-web\n    newTag: 3f2a\n",
		"  - name: notes-store\n    newName: 127.0.0.1:5000/notes-store\n    digest: sha256:abc\n",
		"namespace: notes",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "resources:") > strings.Index(got, "images:") || strings.Index(got, "images:") > strings.Index(got, "namespace:") {
		t.Errorf("key order changed:\n%s", got)
	}
	if strings.Index(got, "name: other") > strings.Index(got, "name: notes-web") {
		t.Errorf("entry order changed:\n%s", got)
	}
}

func TestSetImagesAddsList(t *testing.T) {
	out, err := setImages([]byte("resources: [a.yaml]\n"), map[string]string{"web": "web:t1"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "images:\n  - name: web\n    newTag: t1\n") {
		t.Fatalf("got:\n%s", out)
	}
}

func TestSetImagesRejectsNonMapping(t *testing.T) {
	if _, err := setImages([]byte("- a\n"), map[string]string{"web": "web:t"}); err == nil {
		t.Fatal("want an error for a list document")
	}
}
