package deploy

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AnnotationHelmResourcePolicy is Helm's annotation that keeps an object
// when its release is uninstalled.
const AnnotationHelmResourcePolicy = "helm.sh/resource-policy"

// MarkHelmObject prepares an object a Helm chart rendered: container images
// naming an artifact are rewritten to the references deployed, and the
// object is labelled with LabelConfig (Helm sets LabelManagedBy to "Helm"
// itself, so devloop's selector, and so its prune and delete, never match a
// release's objects: Helm owns them); pod templates get devloop's labels.
// What must outlive the release is
// marked for devloop's own cleanup: the claim templates of a StatefulSet
// carry devloop's full labels, so that their PVCs are kept on uninstall
// and deleted by `devloop delete --data` like those of a kustomize
// overlay; a PersistentVolumeClaim of the chart's templates is annotated
// helm.sh/resource-policy: keep, so that uninstalling leaves it.
func MarkHelmObject(u *unstructured.Unstructured, images map[string]string, configName string) error {
	rewriteImages(u, images)
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[LabelConfig] = configName
	u.SetLabels(l)
	if u.GetKind() == "PersistentVolumeClaim" && u.GroupVersionKind().Group == "" {
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		if a[AnnotationHelmResourcePolicy] == "" {
			a[AnnotationHelmResourcePolicy] = "keep"
		}
		u.SetAnnotations(a)
	}
	// Pod templates carry devloop's labels, as an overlay's do: live sync
	// and the logs find the release's pods (which a controller owns, so
	// devloop's delete never selects them).
	labels := map[string]string{LabelManagedBy: ManagedByValue, LabelConfig: configName}
	for _, p := range templatePaths(u) {
		if err := labelAt(u.Object, p, labels); err != nil {
			return err
		}
	}
	if u.GetKind() != "StatefulSet" {
		return nil
	}
	claims, _, _ := unstructured.NestedSlice(u.Object, "spec", "volumeClaimTemplates")
	if len(claims) == 0 {
		return nil
	}
	for _, c := range claims {
		if cm, ok := c.(map[string]interface{}); ok {
			if err := labelAt(cm, nil, labels); err != nil {
				return err
			}
		}
	}
	return unstructured.SetNestedSlice(u.Object, claims, "spec", "volumeClaimTemplates")
}
