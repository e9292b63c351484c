package debug

import (
	"encoding/json"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Forward is a debug port to forward to this machine: read back from the
// annotation of a deployed object.
type Forward struct {
	// Kind is the portforward kind (deployment, statefulset, pod).
	Kind      string
	Namespace string
	Name      string
	Container string
	Artifact  string
	Runtime   Runtime
	Protocol  string
	Port      int
	// WorkingDir is the container's working directory, as the annotation
	// records it.
	WorkingDir string
}

// Key names the forward across redeploys: the same key keeps its local
// port.
func (f Forward) Key() string {
	return fmt.Sprintf("%s/%s/%s/%s", f.Namespace, f.Kind, f.Name, f.Container)
}

// Forwards are the debug ports of objs that devloop can forward: those of
// Deployments, StatefulSets and Pods annotated by Rewrite, sorted.
func Forwards(objs []*unstructured.Unstructured) []Forward {
	var out []Forward
	for _, u := range objs {
		var kind string
		var fields []string
		switch u.GetKind() {
		case "Deployment":
			kind, fields = "deployment", []string{"spec", "template", "metadata", "annotations", Annotation}
		case "StatefulSet":
			kind, fields = "statefulset", []string{"spec", "template", "metadata", "annotations", Annotation}
		case "Pod":
			kind, fields = "pod", []string{"metadata", "annotations", Annotation}
		default:
			continue
		}
		raw, ok, _ := unstructured.NestedString(u.Object, fields...)
		if !ok {
			continue
		}
		var config map[string]struct {
			Artifact   string         `json:"artifact"`
			Runtime    string         `json:"runtime"`
			WorkingDir string         `json:"workingDir"`
			Ports      map[string]int `json:"ports"`
		}
		if json.Unmarshal([]byte(raw), &config) != nil {
			continue
		}
		for name, c := range config {
			r := Runtime(c.Runtime)
			spec := SpecOf(r)
			port := c.Ports[spec.PortName]
			if port == 0 {
				continue
			}
			out = append(out, Forward{Kind: kind, Namespace: u.GetNamespace(), Name: u.GetName(), Container: name,
				Artifact: c.Artifact, Runtime: r, Protocol: spec.Protocol, Port: port, WorkingDir: c.WorkingDir})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key() < out[j].Key() })
	return out
}
