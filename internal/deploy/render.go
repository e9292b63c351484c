package deploy

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/kustomize"
)

// RenderOptions says what to render and how to rewrite it.
type RenderOptions struct {
	// Path is the kustomization directory.
	Path string
	// Images maps image names as the manifests write them (e.g. "notes-web")
	// to the references to deploy ("notes-web:3f2a…" or
	// "127.0.0.1:5000/notes-web@sha256:…"). Tags and digests written in the
	// manifests do not matter: the repository name is compared.
	Images map[string]string
	// Namespace, when set, overrides the namespace of namespaced objects.
	Namespace string
	// ConfigName is the devloop config's name, written in LabelConfig.
	ConfigName string
	// ImagePullSecrets are added to the imagePullSecrets of every pod spec.
	ImagePullSecrets []string
	// Scope tells which kinds are namespaced, for the namespace override.
	// Nil knows the built-in kinds and the CRDs being rendered only.
	Scope ScopeFunc
}

// Render builds the kustomization at opts.Path in process, from the files on
// disk (never modifying them), rewrites container images, labels every object
// and pod template for devloop and applies the namespace override.
func Render(ctx context.Context, opts RenderOptions) ([]*unstructured.Unstructured, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.ConfigName == "" {
		return nil, fmt.Errorf("rendering %s: the config name is empty", opts.Path)
	}
	objs, err := kustomize.Build(ctx, opts.Path)
	if err != nil {
		return nil, err
	}
	if err := Transform(objs, opts); err != nil {
		return nil, fmt.Errorf("rendering kustomization %s: %w", opts.Path, err)
	}
	return objs, nil
}

// Transform applies devloop's changes (images, labels, namespace) to objects
// rendered elsewhere. It modifies objs in place.
func Transform(objs []*unstructured.Unstructured, opts RenderOptions) error {
	labels := map[string]string{LabelManagedBy: ManagedByValue, LabelConfig: opts.ConfigName}
	scope := StaticScope(objs, opts.Scope)
	for _, u := range objs {
		if u.GetKind() == "" || u.GetName() == "" {
			return fmt.Errorf("an object without kind or name: %v/%v", u.GetKind(), u.GetName())
		}
		rewriteImages(u, opts.Images)
		if err := addPullSecrets(u, opts.ImagePullSecrets); err != nil {
			return fmt.Errorf("adding image pull secrets to %s: %w", RefOf(u), err)
		}
		if err := addLabels(u, labels); err != nil {
			return fmt.Errorf("labelling %s: %w", RefOf(u), err)
		}
		if opts.Namespace == "" {
			continue
		}
		namespaced, err := scope(u.GroupVersionKind())
		if err != nil {
			return fmt.Errorf("setting the namespace of %s: %w", RefOf(u), err)
		}
		if namespaced {
			old := u.GetNamespace()
			u.SetNamespace(opts.Namespace)
			fixSubjects(u, old, opts.Namespace)
		}
	}
	return nil
}

// fixSubjects moves ServiceAccount subjects of a RoleBinding that pointed at
// the binding's own namespace to the new one.
func fixSubjects(u *unstructured.Unstructured, oldNS, newNS string) {
	if u.GetKind() != "RoleBinding" && u.GetKind() != "ClusterRoleBinding" {
		return
	}
	subjects, _, _ := unstructured.NestedSlice(u.Object, "subjects")
	for _, s := range subjects {
		sm, ok := s.(map[string]interface{})
		if !ok || sm["kind"] != "ServiceAccount" {
			continue
		}
		if ns, _ := sm["namespace"].(string); ns == "" || ns == oldNS {
			sm["namespace"] = newNS
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, subjects, "subjects")
}
