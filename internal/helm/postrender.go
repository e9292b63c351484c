package helm

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/devloop-dev/devloop/internal/deploy"
)

// postRenderer is devloop's pass over what a chart rendered (Helm 4 gives
// it the hooks too): images that name an artifact are rewritten, as in a
// kustomize overlay, and every object is marked for devloop (see
// deploy.MarkHelmObject).
type postRenderer struct {
	images     map[string]string
	configName string
}

func (p postRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	objs, err := parseManifests(in.Bytes())
	if err != nil {
		return nil, fmt.Errorf("devloop post-render: %w", err)
	}
	out := new(bytes.Buffer)
	for _, u := range objs {
		if err := deploy.MarkHelmObject(u, p.images, p.configName); err != nil {
			return nil, fmt.Errorf("devloop post-render of %s: %w", deploy.RefOf(u), err)
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("devloop post-render of %s: %w", deploy.RefOf(u), err)
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out, nil
}

// parseManifests reads a multi-document YAML stream into objects, skipping
// empty documents.
func parseManifests(b []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("parsing the rendered manifests: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}
