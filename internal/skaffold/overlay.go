package skaffold

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// writeOverlay writes a kustomization whose resources are the kustomize
// directories dirs, so that devloop deploys the manifests of several
// configurations (or several manifests.kustomize.paths) as one overlay. It
// lives in devloop's cache directory, under a name derived from key (the
// skaffold.yaml and its selection), and is rewritten only when it changes,
// so that a watcher sees no event. It returns the overlay's directory.
func writeOverlay(key string, dirs []string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	sum := sha256.Sum256([]byte(key))
	dir := filepath.Join(base, "devloop", "skaffold", hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("writing the overlay of the Skaffold configurations: %w", err)
	}
	var k struct {
		Resources []string `yaml:"resources"`
	}
	for _, d := range dirs {
		// Relative, as kustomize and devloop's watcher follow them.
		rel, err := filepath.Rel(dir, d)
		if err != nil {
			return "", fmt.Errorf("writing the overlay of the Skaffold configurations: %w", err)
		}
		k.Resources = append(k.Resources, filepath.ToSlash(rel))
	}
	body, err := yaml.Marshal(k)
	if err != nil {
		return "", fmt.Errorf("writing the overlay of the Skaffold configurations: %w", err)
	}
	body = append([]byte("# Written by devloop: the manifests of the Skaffold configurations of\n# "+key+"\n"), body...)
	path := filepath.Join(dir, "kustomization.yaml")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, body) {
		return dir, nil
	}
	tmp, err := os.CreateTemp(dir, ".kustomization-*")
	if err != nil {
		return "", fmt.Errorf("writing the overlay of the Skaffold configurations: %w", err)
	}
	_, werr := tmp.Write(body)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("writing the overlay of the Skaffold configurations: %w", werr)
	}
	return dir, nil
}
