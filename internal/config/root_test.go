package config

import (
	"path/filepath"
	"runtime"
	"testing"
)

// TestLoadRepositoryConfig loads the reference devloop.yaml at the repository root, with
// and without the prod profile. It needs examples/marvel to exist.
func TestLoadRepositoryConfig(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "..", "devloop.yaml")
	c, err := Load(path, Options{})
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	if c.Metadata.Name != "marvel" || len(c.Build.Artifacts) != 2 {
		t.Fatalf("unexpected config: name %q, %d artifacts", c.Metadata.Name, len(c.Build.Artifacts))
	}
	if got := c.Deploy.Kustomize.Dir; filepath.Base(got) != "dev" {
		t.Errorf("kustomize dir %s, want the dev overlay", got)
	}
	prod, err := Load(path, Options{Profiles: []string{"prod"}})
	if err != nil {
		t.Fatalf("loading %s with -p prod: %v", path, err)
	}
	if filepath.Base(prod.Deploy.Kustomize.Dir) != "prod" || len(prod.Build.Platforms) != 2 || prod.Registry == "" {
		t.Errorf("prod profile not applied: %+v", prod.Deploy.Kustomize)
	}
	if _, err := prod.Render(); err != nil {
		t.Fatal(err)
	}
}
