// Package kustomize is devloop's one home for kustomize: building a
// kustomization in process, the names of kustomization files, the local
// directories a kustomization pulls in (what the dev loop watches) and
// writing image references into a kustomization file.
package kustomize

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileNames returns the file names kustomize accepts for a kustomization,
// in the order it looks for them.
func FileNames() []string {
	return []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}
}

// File returns the path of dir's kustomization file: the first of
// FileNames that is a regular file.
func File(dir string) (string, error) {
	for _, n := range FileNames() {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("no kustomization file in %s; expected one of %s", dir, strings.Join(FileNames(), ", "))
}
