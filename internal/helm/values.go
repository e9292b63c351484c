package helm

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/devloop-dev/devloop/internal/config"
)

// Values computes the values of a release, as `helm upgrade -f FILE...
// --set K=V... --set-string IMAGEPATH=REF...` would: the values files in
// order, then setValues (typed as --set types them), then every
// imageValues path set to the reference deployed for its artifact. images
// maps artifact image names to references; an artifact not in it (no
// build yet) keeps its own name. The chart's values.yaml is not included:
// Helm merges it under these.
func Values(r config.HelmRelease, images map[string]string) (map[string]any, error) {
	vals := map[string]any{}
	for _, f := range r.ValuesPaths {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("release %s: reading values file: %w", r.Name, err)
		}
		m := map[string]any{}
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("release %s: values file %s: %w", r.Name, f, err)
		}
		vals = merge(vals, m)
	}
	for k, v := range r.SetValues {
		if err := setPath(vals, k, typed(v)); err != nil {
			return nil, fmt.Errorf("release %s: setValues %s: %w", r.Name, k, err)
		}
	}
	for k, img := range r.ImageValues {
		ref := img
		if got, ok := images[img]; ok && got != "" {
			ref = got
		}
		if err := setPath(vals, k, ref); err != nil {
			return nil, fmt.Errorf("release %s: imageValues %s: %w", r.Name, k, err)
		}
	}
	return vals, nil
}

// typed converts a --set value: integers, true, false and null are typed,
// anything else is a string.
func typed(s string) any {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return s
}

// setPath sets the value at a dotted path, making the mappings on the way.
func setPath(vals map[string]any, path string, v any) error {
	segs := strings.Split(path, ".")
	cur := vals
	for i, s := range segs {
		if s == "" {
			return fmt.Errorf("empty segment in value path %q", path)
		}
		if i == len(segs)-1 {
			cur[s] = v
			return nil
		}
		next, ok := cur[s].(map[string]any)
		if !ok {
			if _, exists := cur[s]; exists && cur[s] != nil {
				return fmt.Errorf("%s is not a mapping", strings.Join(segs[:i+1], "."))
			}
			next = map[string]any{}
			cur[s] = next
		}
		cur = next
	}
	return nil
}

// merge merges over onto base: mappings key by key, anything else replaced.
func merge(base, over map[string]any) map[string]any {
	for k, v := range over {
		if bm, ok := base[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				base[k] = merge(bm, om)
				continue
			}
		}
		base[k] = v
	}
	return base
}
