package kustomize

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/devloop-dev/devloop/internal/fspath"
)

// kustomization is the part of a kustomization file that names other files.
type kustomization struct {
	Resources             []string `json:"resources"`
	Bases                 []string `json:"bases"`
	Components            []string `json:"components"`
	PatchesStrategicMerge []string `json:"patchesStrategicMerge"`
	Patches               []struct {
		Path string `json:"path"`
	} `json:"patches"`
	ConfigMapGenerator []generator `json:"configMapGenerator"`
	SecretGenerator    []generator `json:"secretGenerator"`
}

type generator struct {
	Files []string `json:"files"`
	Envs  []string `json:"envs"`
	Env   string   `json:"env"`
}

// Dirs lists every local directory the kustomization at dir pulls
// in (itself, its bases, resources and components, recursively, and the
// directories of files it names), so that the loop watches the whole tree.
// Remote resources (URLs) are skipped; unreadable entries are ignored here
// and reported by the render.
func Dirs(dir string) []string {
	seen := map[string]bool{}     // kustomization directories visited
	fileDirs := map[string]bool{} // directories of files they name
	var visit func(d string)
	visit = func(d string) {
		d = filepath.Clean(d)
		if seen[d] {
			return
		}
		seen[d] = true
		var k kustomization
		if f, err := File(d); err == nil {
			if b, err := os.ReadFile(f); err == nil {
				_ = yaml.Unmarshal(b, &k)
			}
		}
		var files []string
		files = append(files, k.Resources...)
		files = append(files, k.Bases...)
		files = append(files, k.Components...)
		files = append(files, k.PatchesStrategicMerge...)
		for _, p := range k.Patches {
			files = append(files, p.Path)
		}
		for _, g := range append(k.ConfigMapGenerator, k.SecretGenerator...) {
			files = append(files, g.Files...)
			files = append(files, g.Envs...)
			if g.Env != "" {
				files = append(files, g.Env)
			}
		}
		for _, f := range files {
			if f == "" || filepath.IsAbs(f) || isRemote(f) {
				continue
			}
			// A generator file may be "key=path".
			if i := strings.IndexByte(f, '='); i >= 0 {
				f = f[i+1:]
			}
			p := filepath.Join(d, f)
			info, err := os.Stat(p)
			switch {
			case err != nil:
				continue
			case info.IsDir():
				visit(p)
			default:
				fileDirs[filepath.Dir(p)] = true
			}
		}
	}
	visit(dir)
	for d := range fileDirs {
		seen[d] = true
	}
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return minimal(out)
}

// minimal drops directories nested in another listed one (watched
// recursively anyway).
func minimal(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		nested := false
		for _, o := range dirs {
			if o != d && fspath.Within(d, o) {
				nested = true
				break
			}
		}
		if !nested {
			out = append(out, d)
		}
	}
	return out
}

func isRemote(s string) bool {
	for _, p := range []string{"http://", "https://", "git@", "github.com/", "ssh://"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
