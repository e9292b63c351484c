package deploy

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Redacted replaces Secret values in Redact's output.
const Redacted = "<redacted>"

// Redact returns copies of objs in which every value of a Secret's data and
// stringData is replaced by Redacted (keys are kept). Other objects are
// copied unchanged.
func Redact(objs []*unstructured.Unstructured) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, len(objs))
	for i, o := range objs {
		c := o.DeepCopy()
		if c.GetKind() == "Secret" && c.GroupVersionKind().Group == "" {
			for _, f := range []string{"data", "stringData"} {
				m, ok := c.Object[f].(map[string]interface{})
				if !ok {
					continue
				}
				for k := range m {
					m[k] = Redacted
				}
			}
		}
		out[i] = c
	}
	return out
}
