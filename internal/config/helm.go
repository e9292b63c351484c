package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Helm lists the Helm releases devloop deploys.
type Helm struct {
	Releases []HelmRelease `yaml:"releases"`
}

// HelmRelease is one chart installed (or upgraded) as a release.
type HelmRelease struct {
	// Name is the release name (a DNS label of at most 53 characters).
	Name string `yaml:"name" devloop:"required"`
	// Chart is a local chart directory, relative to devloop.yaml.
	Chart string `yaml:"chart" devloop:"required"`
	// Namespace is the release's namespace (default: deploy.namespace, else
	// the kube context's); Helm creates it when it is missing.
	Namespace string `yaml:"namespace"`
	// ValuesFiles are merged over the chart's values.yaml in order,
	// relative to devloop.yaml.
	ValuesFiles []string `yaml:"valuesFiles"`
	// SetValues sets values by dotted path, typed as helm --set does
	// (integers, true/false and null; anything else is a string).
	SetValues map[string]string `yaml:"setValues"`
	// ImageValues maps a dotted value path to an artifact image: the path
	// receives the reference devloop built and delivered.
	ImageValues map[string]string `yaml:"imageValues"`

	// ChartDir is the absolute chart directory.
	ChartDir string `yaml:"-"`
	// ValuesPaths are the absolute values files.
	ValuesPaths []string `yaml:"-"`
}

// MaxReleaseName is Helm's limit on a release name.
const MaxReleaseName = 53

func resolveHelm(c *Config, abs func(base, p string) string) {
	for i := range c.Deploy.Helm.Releases {
		r := &c.Deploy.Helm.Releases[i]
		r.ChartDir = abs(c.Dir, r.Chart)
		r.ValuesPaths = make([]string, len(r.ValuesFiles))
		for j, f := range r.ValuesFiles {
			r.ValuesPaths[j] = abs(c.Dir, f)
		}
	}
}

// helm checks the releases: names, chart directories, values files, and
// that every setValues and imageValues path exists in the chart's values
// (a typo would otherwise be ignored by the templates without a word) and
// every imageValues image is an artifact.
func (v *validator) helm(d Deploy) {
	images := map[string]bool{}
	for _, a := range v.c.Build.Artifacts {
		images[a.Image] = true
	}
	names := map[string]string{}
	for i, r := range d.Helm.Releases {
		p := fmt.Sprintf("deploy.helm.releases[%d]", i)
		switch first, dup := names[r.Name]; {
		case len(r.Name) > MaxReleaseName || !isDNSLabel(r.Name):
			v.errorf(p+".name", nil, "%s.name: %q is not a release name; expected a DNS label of at most %d characters", p, r.Name, MaxReleaseName)
		case dup:
			v.errorf(p+".name", nil, "%s.name: release %q is already declared by %s", p, r.Name, first)
		default:
			names[r.Name] = p
		}
		if r.Namespace != "" && !isDNSLabel(r.Namespace) {
			v.errorf(p+".namespace", nil, "%s.namespace: %q is not a valid namespace (a DNS label)", p, r.Namespace)
		}
		vals, ok := v.chart(p, r)
		for j, f := range r.ValuesPaths {
			fp := fmt.Sprintf("%s.valuesFiles[%d]", p, j)
			m, err := readValues(f)
			if err != nil {
				v.errorf(fp, err, "%s: %v", fp, err)
				ok = false
				continue
			}
			vals = mergeValues(vals, m)
		}
		for _, k := range sortedKeys(r.SetValues) {
			if ok && !hasValuePath(vals, k) {
				v.errorf(p+".setValues."+k, nil, "%s.setValues: the value path %q does not exist in the values of chart %s%s", p, k, r.Chart, nearest(vals, k))
			}
		}
		for _, k := range sortedKeys(r.ImageValues) {
			img := r.ImageValues[k]
			if !images[img] {
				v.errorf(p+".imageValues."+k, nil, "%s.imageValues.%s: %q is not an artifact; expected one of build.artifacts[].image", p, k, img)
			}
			if ok && !hasValuePath(vals, k) {
				v.errorf(p+".imageValues."+k, nil, "%s.imageValues: the value path %q does not exist in the values of chart %s%s", p, k, r.Chart, nearest(vals, k))
			}
		}
	}
}

// chart checks the chart directory and returns its values.yaml; ok is
// false when the values are unknown (no path check is then possible).
func (v *validator) chart(p string, r HelmRelease) (vals map[string]any, ok bool) {
	st, err := os.Stat(r.ChartDir)
	switch {
	case err != nil:
		v.errorf(p+".chart", err, "%s.chart: the chart directory %s does not exist (%s, relative to %s)", p, r.ChartDir, r.Chart, v.c.Dir)
		return nil, false
	case !st.IsDir():
		v.errorf(p+".chart", nil, "%s.chart: %s is not a directory; expected a chart directory with a Chart.yaml", p, r.ChartDir)
		return nil, false
	}
	if _, err := os.Stat(filepath.Join(r.ChartDir, "Chart.yaml")); err != nil {
		v.errorf(p+".chart", err, "%s.chart: %s has no Chart.yaml; expected a chart directory", p, r.ChartDir)
		return nil, false
	}
	vals, err = readValues(filepath.Join(r.ChartDir, "values.yaml"))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, true
	}
	if err != nil {
		v.errorf(p+".chart", err, "%s.chart: %v", p, err)
		return nil, false
	}
	return vals, true
}

// readValues reads a values file (an empty file is no values).
func readValues(file string) (map[string]any, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading values file: %w", err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("values file %s: %w", file, err)
	}
	return m, nil
}

// mergeValues merges over onto base as Helm merges values files: mappings
// key by key, anything else replaced.
func mergeValues(base, over map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		if bm, ok := out[k].(map[string]any); ok {
			if om, ok := v.(map[string]any); ok {
				out[k] = mergeValues(bm, om)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// hasValuePath reports whether the dotted path names a value: every
// segment but the last must be a mapping, the last a key of it.
func hasValuePath(vals map[string]any, path string) bool {
	segs := strings.Split(path, ".")
	cur := vals
	for i, s := range segs {
		v, ok := cur[s]
		if !ok {
			return false
		}
		if i == len(segs)-1 {
			return true
		}
		if cur, ok = v.(map[string]any); !ok {
			return false
		}
	}
	return false
}

// nearest names the keys at the deepest existing level of path, as a hint.
func nearest(vals map[string]any, path string) string {
	cur, at := vals, ""
	for _, s := range strings.Split(path, ".") {
		next, ok := cur[s].(map[string]any)
		if !ok {
			break
		}
		cur, at = next, joinPath(at, s)
	}
	keys := sortedKeys(cur)
	if len(keys) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s has: %s)", where(at), strings.Join(keys, ", "))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
