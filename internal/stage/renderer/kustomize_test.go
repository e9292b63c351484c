package renderer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func writeKustomization(t *testing.T, dir, value string) {
	t.Helper()
	files := map[string]string{
		"kustomization.yaml": "resources:\n  - cm.yaml\n",
		"cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  v: " + value + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func valueOf(t *testing.T, k *Kustomize, dir string) (string, bool) {
	t.Helper()
	objs, cached, err := k.build(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1", len(objs))
	}
	v := objs[0].Object["data"].(map[string]any)["v"].(string)
	// The caller owns the copy: changing it must not reach the kept output.
	objs[0].Object["data"].(map[string]any)["v"] = "scribbled"
	return v, cached
}

func TestKustomizeOutputKeptUntilForgotten(t *testing.T) {
	dir := t.TempDir()
	writeKustomization(t, dir, "one")
	k := NewKustomize(nil)

	if v, cached := valueOf(t, k, dir); v != "one" || cached {
		t.Fatalf("first render: %q cached=%v, want one, not cached", v, cached)
	}
	if v, cached := valueOf(t, k, dir); v != "one" || !cached {
		t.Fatalf("second render: %q cached=%v, want one from the cache", v, cached)
	}
	writeKustomization(t, dir, "two")
	k.Forget()
	if v, cached := valueOf(t, k, dir); v != "two" || cached {
		t.Fatalf("after Forget: %q cached=%v, want two, rendered again", v, cached)
	}
}
