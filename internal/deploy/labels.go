package deploy

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Labels and annotations devloop puts on what it applies.
const (
	// LabelManagedBy marks every object devloop applied.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy.
	ManagedByValue = "devloop"
	// LabelConfig holds the name of the devloop config that applied the object.
	LabelConfig = "devloop.dev/config"
	// AnnotationAppliedHash holds the hash of the desired object as devloop
	// last applied it; an equal hash means nothing to write.
	AnnotationAppliedHash = "devloop.dev/applied-hash"
	// AnnotationTemplateHash holds the hash of a Job's pod template.
	AnnotationTemplateHash = "devloop.dev/template-hash"
	// FieldManager is the server-side apply field manager.
	FieldManager = "devloop"
)

// Selector returns the label selector matching the objects of a config.
func Selector(configName string) string {
	return LabelManagedBy + "=" + ManagedByValue + "," + LabelConfig + "=" + configName
}

// podTemplatePaths are the paths of pod template metadata in workload kinds;
// any object with spec.template.spec.containers is treated as a workload.
var cronJobTemplatePaths = [][]string{
	{"spec", "jobTemplate"},
	{"spec", "jobTemplate", "spec", "template"},
}

// addLabels labels the object and its pod templates (never selectors).
func addLabels(u *unstructured.Unstructured, labels map[string]string) error {
	l := u.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	for k, v := range labels {
		l[k] = v
	}
	u.SetLabels(l)
	for _, p := range templatePaths(u) {
		if err := labelAt(u.Object, p, labels); err != nil {
			return err
		}
	}
	// PVCs made from a StatefulSet's claim templates carry the labels too, so
	// that Delete can find them (and keep them unless asked).
	if u.GetKind() == "StatefulSet" {
		claims, _, _ := unstructured.NestedSlice(u.Object, "spec", "volumeClaimTemplates")
		for _, c := range claims {
			if cm, ok := c.(map[string]interface{}); ok {
				if err := labelAt(cm, nil, labels); err != nil {
					return err
				}
			}
		}
		if len(claims) > 0 {
			if err := unstructured.SetNestedSlice(u.Object, claims, "spec", "volumeClaimTemplates"); err != nil {
				return err
			}
		}
	}
	return nil
}

// templatePaths lists the template paths (object metadata holders) of u.
func templatePaths(u *unstructured.Unstructured) [][]string {
	if u.GetKind() == "CronJob" {
		return cronJobTemplatePaths
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "template", "spec", "containers"); ok {
		return [][]string{{"spec", "template"}}
	}
	return nil
}

func labelAt(obj map[string]interface{}, path []string, labels map[string]string) error {
	if len(path) > 0 {
		if _, ok, _ := unstructured.NestedFieldNoCopy(obj, path...); !ok {
			return nil
		}
	}
	lp := append(append([]string{}, path...), "metadata", "labels")
	existing, _, err := unstructured.NestedStringMap(obj, lp...)
	if err != nil {
		return err
	}
	if existing == nil {
		existing = map[string]string{}
	}
	for k, v := range labels {
		existing[k] = v
	}
	return unstructured.SetNestedStringMap(obj, existing, lp...)
}
