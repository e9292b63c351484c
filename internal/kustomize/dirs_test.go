package kustomize

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestDirsFollowsBasesComponentsAndFiles(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("k8s/base/kustomization.yaml", "resources: [deploy.yaml]\n")
	write("k8s/base/deploy.yaml", "kind: x\n")
	write("k8s/components/debug/kustomization.yaml", "kind: Component\n")
	write("shared/config.env", "A=1\n")
	write("k8s/overlays/dev/kustomization.yaml", `resources:
  - ../../base
  - https://example.com/remote.yaml
components:
  - ../../components/debug
configMapGenerator:
  - name: c
    envs: [../../../shared/config.env]
`)
	got := Dirs(filepath.Join(root, "k8s/overlays/dev"))
	want := []string{
		filepath.Join(root, "k8s/base"),
		filepath.Join(root, "k8s/components/debug"),
		filepath.Join(root, "k8s/overlays/dev"),
		filepath.Join(root, "shared"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}
