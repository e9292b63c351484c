package skaffold

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/kustomize"
)

// tree writes files (path: content) under a fresh directory, each
// kustomization.yaml with a ConfigMap named after its directory (a/k8s:
// a-k8s), and
// returns the directory. The overlays devloop writes go to a cache of the
// test's own.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	for f, c := range files {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "kustomization.yaml" {
			name := strings.ReplaceAll(filepath.Dir(f), "/", "-")
			c = "resources: [cm.yaml]\n" + c
			cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
			if err := os.WriteFile(filepath.Join(filepath.Dir(p), "cm.yaml"), []byte(cm), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rendered lists the names of the objects the configuration deploys.
func rendered(t *testing.T, cfg *config.Config) []string {
	t.Helper()
	objs, err := kustomize.Build(context.Background(), cfg.Deploy.Kustomize.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetName())
	}
	slices.Sort(names)
	return names
}

func images(cfg *config.Config) []string {
	var out []string
	for _, a := range cfg.Build.Artifacts {
		out = append(out, a.Image+"@"+a.ContextDir)
	}
	return out
}

// A multi-configuration project: two configurations in the root file (the
// second requires the first by name) and a third in a subdirectory's
// skaffold.yaml, required by path, whose paths resolve against its own
// directory.
var multi = map[string]string{
	"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: back
build:
  artifacts:
  - image: back
    context: back
manifests:
  kustomize:
    paths: [back/k8s]
deploy:
  statusCheckDeadlineSeconds: 60
---
apiVersion: skaffold/v4beta11
kind: Config
metadata:
  name: front
requires:
- configs: [back]
- path: db
build:
  artifacts:
  - image: front
    context: front
manifests:
  kustomize:
    paths: [front/k8s]
deploy:
  statusCheckDeadlineSeconds: 120
portForward:
- resourceType: service
  resourceName: front
  port: 8080
`,
	"back/Dockerfile":              "FROM scratch\n",
	"back/k8s/kustomization.yaml":  "",
	"front/Dockerfile":             "FROM scratch\n",
	"front/k8s/kustomization.yaml": "",
	"db/skaffold.yaml": `apiVersion: skaffold/v2beta29
kind: Config
metadata:
  name: db
build:
  artifacts:
  - image: db
deploy:
  kustomize:
    paths: [k8s]
`,
	"db/Dockerfile":             "FROM scratch\n",
	"db/k8s/kustomization.yaml": "",
}

func TestLoadMultiConfig(t *testing.T) {
	dir := tree(t, multi)
	for _, tc := range []struct {
		name     string
		modules  []string
		want     string
		images   []string
		objects  []string
		timeout  float64
		forwards int
	}{
		{"every configuration", nil, "back",
			[]string{"back@back", "db@db", "front@front"}, []string{"back-k8s", "db-k8s", "front-k8s"}, 120, 1},
		{"a module and what it requires", []string{"front"}, "front",
			[]string{"back@back", "db@db", "front@front"}, []string{"back-k8s", "db-k8s", "front-k8s"}, 120, 1},
		{"a required module alone", []string{"db"}, "db",
			[]string{"db@db"}, []string{"db-k8s"}, 0, 0},
		{"two modules", []string{"db", "back"}, "db",
			[]string{"back@back", "db@db"}, []string{"back-k8s", "db-k8s"}, 60, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(filepath.Join(dir, "skaffold.yaml"), Options{Modules: tc.modules})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Metadata.Name != tc.want {
				t.Errorf("name = %q, want %q", cfg.Metadata.Name, tc.want)
			}
			var want []string
			for _, i := range tc.images {
				name, ctx, _ := strings.Cut(i, "@")
				want = append(want, name+"@"+filepath.Join(dir, ctx))
			}
			if got := images(cfg); !slices.Equal(got, want) {
				t.Errorf("artifacts = %v, want %v", got, want)
			}
			if got := rendered(t, cfg); !slices.Equal(got, tc.objects) {
				t.Errorf("rendered %v, want %v", got, tc.objects)
			}
			if tc.timeout > 0 && cfg.Deploy.StatusTimeout.Seconds() != tc.timeout {
				t.Errorf("status timeout = %v, want %vs", cfg.Deploy.StatusTimeout, tc.timeout)
			}
			if len(cfg.PortForward) != tc.forwards {
				t.Errorf("port forwards = %+v", cfg.PortForward)
			}
		})
	}
}

// A configuration required twice (by two configurations) is deployed once.
func TestLoadRequiredTwiceOnce(t *testing.T) {
	dir := tree(t, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata: {name: a}
requires: [{path: lib}]
manifests: {kustomize: {paths: [a]}}
---
apiVersion: skaffold/v4beta14
kind: Config
metadata: {name: b}
requires: [{path: lib/skaffold.yaml, configs: [lib]}]
manifests: {kustomize: {paths: [b]}}
`,
		"a/kustomization.yaml":       "",
		"b/kustomization.yaml":       "",
		"lib/skaffold.yaml":          "apiVersion: skaffold/v4beta14\nkind: Config\nmetadata: {name: lib}\nmanifests: {kustomize: {paths: [k8s]}}\n",
		"lib/k8s/kustomization.yaml": "",
	})
	cfg, err := Load(filepath.Join(dir, "skaffold.yaml"), Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := rendered(t, cfg); !slices.Equal(got, []string{"a", "b", "lib-k8s"}) {
		t.Errorf("rendered %v", got)
	}
}

// Several manifests.kustomize.paths of one configuration deploy together.
func TestLoadSeveralKustomizePaths(t *testing.T) {
	dir := tree(t, map[string]string{
		"skaffold.yaml":        "apiVersion: skaffold/v4beta14\nkind: Config\nmanifests: {kustomize: {paths: [a, b]}}\n",
		"a/kustomization.yaml": "",
		"b/kustomization.yaml": "",
	})
	cfg, err := Load(filepath.Join(dir, "skaffold.yaml"), Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := rendered(t, cfg); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("rendered %v", got)
	}
	// Loading again leaves the overlay as it was.
	path := filepath.Join(cfg.Deploy.Kustomize.Dir, "kustomization.yaml")
	before, _ := os.Stat(path)
	if _, err := Load(filepath.Join(dir, "skaffold.yaml"), Options{}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) {
		t.Error("the overlay was rewritten although nothing changed")
	}
}

func TestLoadMultiConfigBad(t *testing.T) {
	const h = "apiVersion: skaffold/v4beta14\nkind: Config\n"
	const k = "manifests: {kustomize: {paths: [k8s]}}\n"
	base := map[string]string{"k8s/kustomization.yaml": "", "app/Dockerfile": "FROM scratch\n"}
	for _, tc := range []struct {
		name    string
		files   map[string]string
		modules []string
		file    string
		line    int
		col     int
		want    string
	}{
		{"cycle", map[string]string{"skaffold.yaml": h + "metadata: {name: a}\nrequires: [{configs: [b]}]\n" + k +
			"---\n" + h + "metadata: {name: b}\nrequires:\n- configs: [a]\n"},
			nil, "skaffold.yaml", 11, 3, `requires[0]: a cycle of requires: "a" (` + "%s" + `) requires "b" (%s) requires "a"`},
		{"requires itself by path", map[string]string{"skaffold.yaml": h + "metadata: {name: a}\nrequires: [{path: .}]\n" + k},
			nil, "skaffold.yaml", 4, 12, "requires[0]: a cycle of requires"},
		{"cycle across files", map[string]string{"skaffold.yaml": h + "requires: [{path: other}]\n" + k,
			"other/skaffold.yaml": h + "requires:\n- path: ..\n"},
			nil, "other/skaffold.yaml", 4, 3, "a cycle of requires"},
		{"missing path", map[string]string{"skaffold.yaml": h + "requires:\n- path: gone\n" + k},
			nil, "skaffold.yaml", 4, 9, "requires[0].path: gone does not exist"},
		{"directory without skaffold.yaml", map[string]string{"skaffold.yaml": h + "requires:\n- path: app\n" + k},
			nil, "skaffold.yaml", 4, 9, "requires[0].path: app has no skaffold.yaml"},
		{"missing config name", map[string]string{"skaffold.yaml": h + "requires:\n- configs: [nope]\n" + k},
			nil, "skaffold.yaml", 4, 13, `requires[0].configs[0]: no configuration named "nope"`},
		{"empty requires item", map[string]string{"skaffold.yaml": h + "requires:\n- {}\n" + k},
			nil, "skaffold.yaml", 4, 3, "requires[0]: name the configurations to include"},
		{"git", map[string]string{"skaffold.yaml": h + "requires:\n- git: {repo: x}\n" + k},
			nil, "skaffold.yaml", 4, 3, "requires[0].git: devloop does not fetch configurations from git"},
		{"unknown requires field", map[string]string{"skaffold.yaml": h + "requires:\n- pth: x\n" + k},
			nil, "skaffold.yaml", 4, 3, `requires[0].pth: unknown field`},
		{"unknown module", map[string]string{"skaffold.yaml": h + "metadata: {name: a}\n" + k},
			[]string{"b"}, "skaffold.yaml", 0, 0, `--module b: no configuration of`},
		{"duplicated name", map[string]string{"skaffold.yaml": h + "metadata: {name: a}\n" + k + "---\n" + h + "metadata:\n  name: a\n"},
			nil, "skaffold.yaml", 9, 9, `metadata.name: duplicated configuration name "a" (also at`},
		{"error in a required file", map[string]string{"skaffold.yaml": h + "requires: [{path: other}]\n" + k,
			"other/skaffold.yaml": h + "build:\n  artifacts:\n  - image: x\n    jib: {}\n"},
			nil, "other/skaffold.yaml", 6, 5, "build.artifacts[0].jib: devloop does not build with Jib"},
		{"missing context in a required file", map[string]string{"skaffold.yaml": h + "requires: [{path: other}]\n" + k,
			"other/skaffold.yaml": h + "build:\n  artifacts:\n  - image: x\n    context: app\n"},
			nil, "other/skaffold.yaml", 6, 14, "build.artifacts[0].context: the build context"},
		{"one image in two configurations", map[string]string{"skaffold.yaml": h + "requires: [{path: other}]\n" + k + "build: {artifacts: [{image: x, context: app}]}\n",
			"other/skaffold.yaml": h + "build:\n  artifacts:\n  - image: x\n    context: ../app\n"},
			nil, "skaffold.yaml", 5, 21, `build.artifacts[0].image: "x" is already built by build.artifacts[0] at `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for f, c := range base {
				files[f] = c
			}
			for f, c := range tc.files {
				files[f] = c
			}
			dir := tree(t, files)
			root := filepath.Join(dir, "skaffold.yaml")
			_, err := Load(root, Options{Modules: tc.modules})
			if err == nil {
				t.Fatal("Load succeeded; want an error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *config.Error", err, err)
			}
			want := tc.want
			if strings.Contains(want, "%s") {
				want = strings.ReplaceAll(want, "%s", root)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
			if file := filepath.Join(dir, tc.file); ce.File != file {
				t.Errorf("error in %s, want %s (%v)", ce.File, file, err)
			}
			if ce.Line != tc.line || (tc.col != 0 && ce.Column != tc.col) {
				t.Errorf("error at %d:%d, want %d:%d (%v)", ce.Line, ce.Column, tc.line, tc.col, err)
			}
		})
	}
}
