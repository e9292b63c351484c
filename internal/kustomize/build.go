package kustomize

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Build builds the kustomization at path in process, from the files on disk
// (never modifying them), as `kustomize build` would. The objects are the
// caller's to modify.
func Build(ctx context.Context, path string) ([]*unstructured.Unstructured, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		return nil, fmt.Errorf("rendering kustomization %s: %w", path, err)
	}
	objs := make([]*unstructured.Unstructured, 0, m.Size())
	for _, r := range m.Resources() {
		// Through JSON, so numbers are int64/float64 as everywhere in
		// client-go (r.Map() yields int, which DeepCopy rejects).
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("rendering kustomization %s: converting %s: %w", path, r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("rendering kustomization %s: decoding %s: %w", path, r.CurId(), err)
		}
		objs = append(objs, u)
	}
	return objs, nil
}
