package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad feeds arbitrary bytes to the decoder: it must never panic, and any error must
// be a located configuration error. The seed corpus is in testdata/fuzz/FuzzLoad; run
// longer with go test -run '^$' -fuzz FuzzLoad -fuzztime 30s ./internal/config.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(withProfiles))
	f.Add([]byte(""))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte(minimal + "  adopt: true\n"))
	f.Add([]byte(minimal + "  adopt: [yes, {no: 1}]\nprofiles:\n  - name: prod\n    deploy: {adopt: 0}\n"))
	dir := f.TempDir()
	for _, p := range []string{"web", "api", "k8s/overlays/dev", "k8s/overlays/prod", "k8s/overlays/staging"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for _, p := range []string{"web/Dockerfile", "api/Dockerfile", "k8s/overlays/dev/kustomization.yaml", "k8s/overlays/prod/kustomization.yaml", "k8s/overlays/staging/Kustomization"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x\n"), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	name := filepath.Join(dir, "devloop.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, {Profiles: []string{"prod"}, KubeContext: "staging"}} {
			c, err := Parse(name, data, opts)
			if err != nil {
				var list ErrorList
				if !asList(err, &list) || len(list) == 0 {
					t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
				}
				continue
			}
			if _, err := c.Render(); err != nil {
				t.Fatalf("render of a loaded configuration: %v", err)
			}
		}
	})
}
