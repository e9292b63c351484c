package deploy

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// addPullSecrets appends the named Secrets to the imagePullSecrets of every
// pod spec of u, keeping those the manifests list and listing none twice.
// Only names are written: the Secrets themselves are never read.
func addPullSecrets(u *unstructured.Unstructured, names []string) error {
	if len(names) == 0 {
		return nil
	}
	for _, p := range podSpecPaths(u) {
		field := append(append([]string{}, p...), "imagePullSecrets")
		list, _, err := unstructured.NestedSlice(u.Object, field...)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, e := range list {
			if m, ok := e.(map[string]interface{}); ok {
				if n, ok := m["name"].(string); ok {
					have[n] = true
				}
			}
		}
		for _, n := range names {
			if !have[n] {
				list = append(list, map[string]interface{}{"name": n})
				have[n] = true
			}
		}
		if err := unstructured.SetNestedSlice(u.Object, list, field...); err != nil {
			return err
		}
	}
	return nil
}
