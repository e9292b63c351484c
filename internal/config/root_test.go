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

// TestLoadExampleConfigs loads every example's devloop.yaml, with each of its profiles,
// so that the examples keep following the schema.
func TestLoadExampleConfigs(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(file), "..", "..", "examples", "*", "devloop.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("no example has a devloop.yaml yet")
	}
	for _, path := range paths {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			c, err := Load(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.Profiles {
				if _, err := Load(path, Options{Profiles: []string{p.Name}}); err != nil {
					t.Errorf("profile %s: %v", p.Name, err)
				}
			}
		})
	}
}
