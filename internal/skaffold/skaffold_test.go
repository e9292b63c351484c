package skaffold

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
)

// project writes a directory with an app context and a kustomize overlay and
// returns the path of its skaffold.yaml holding content.
func project(t *testing.T, content string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "My_App")
	for _, d := range []string{"app", "k8s"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"app/Dockerfile":         "FROM scratch\n",
		"k8s/kustomization.yaml": "resources: []\n",
		"skaffold.yaml":          content,
	}
	for f, c := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "skaffold.yaml")
}

func TestLoadGood(t *testing.T) {
	for _, tc := range []struct {
		name, file string
	}{
		{"v4beta14", `apiVersion: skaffold/v4beta14
kind: Config
metadata:
  name: web
build:
  local:
    push: false
    useBuildkit: true
    concurrency: 2
  artifacts:
  - image: web
    context: app
    docker:
      dockerfile: Dockerfile
      target: run
      buildArgs: {MODE: dev}
manifests:
  kustomize:
    paths: [k8s]
deploy:
  kubectl: {}
  statusCheck: true
  statusCheckDeadlineSeconds: 90
portForward:
- resourceType: service
  resourceName: web
  port: 8080
  localPort: 9000
`},
		{"v2beta10 deploy.kustomize", `apiVersion: skaffold/v2beta10
kind: Config
metadata:
  name: web
build:
  artifacts:
  - image: web
    context: app
    docker:
      target: run
      buildArgs: {MODE: dev}
deploy:
  kustomize:
    paths: [k8s]
  statusCheckDeadlineSeconds: 90
portForward:
- resourceType: Service
  resourceName: web
  port: 8080
  localPort: 9000
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := project(t, tc.file)
			cfg, err := Load(path, Options{})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Metadata.Name != "web" || len(cfg.Build.Artifacts) != 1 {
				t.Fatalf("config = %+v", cfg)
			}
			a := cfg.Build.Artifacts[0]
			if a.Image != "web" || a.ContextDir != filepath.Join(filepath.Dir(path), "app") || a.Target != "run" || a.BuildArgs["MODE"] != "dev" {
				t.Errorf("artifact = %+v", a)
			}
			if cfg.Deploy.Kustomize.Dir != filepath.Join(filepath.Dir(path), "k8s") {
				t.Errorf("kustomize dir = %q", cfg.Deploy.Kustomize.Dir)
			}
			if cfg.Deploy.StatusTimeout.Seconds() != 90 {
				t.Errorf("status timeout = %v", cfg.Deploy.StatusTimeout)
			}
			if len(cfg.PortForward) != 1 || cfg.PortForward[0].Resource != "service/web" || cfg.PortForward[0].LocalPort != 9000 {
				t.Errorf("port forwards = %+v", cfg.PortForward)
			}
		})
	}
}

func TestLoadNameFromDirectory(t *testing.T) {
	path := project(t, "apiVersion: skaffold/v4beta5\nkind: Config\nmanifests:\n  kustomize:\n    paths: [k8s]\n")
	cfg, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metadata.Name != "my-app" {
		t.Errorf("name = %q, want my-app", cfg.Metadata.Name)
	}
}

const head = "apiVersion: skaffold/v4beta14\nkind: Config\n"
const overlay = "manifests:\n  kustomize:\n    paths: [k8s]\n"

func TestLoadBad(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		line, col  int
		want       string
	}{
		{"empty", "", 1, 1, "the file is empty"},
		{"not yaml", head + "build: [\n", 3, 0, "not valid YAML"},
		{"old apiVersion", "apiVersion: skaffold/v2beta9\nkind: Config\n", 1, 13, `unsupported "skaffold/v2beta9"`},
		{"future apiVersion", "apiVersion: skaffold/v4beta15\nkind: Config\n", 1, 13, "skaffold/v2beta10 to skaffold/v4beta14"},
		{"no apiVersion", "kind: Config\n", 1, 1, "apiVersion: required"},
		{"kind", "apiVersion: skaffold/v4beta14\nkind: Pod\n" + overlay, 2, 7, `unsupported kind "Pod"`},
		{"unknown field", head + overlay + "deploy:\n  kubectl: {}\n  kubctl: {}\n", 8, 3, `deploy.kubctl: unknown field "kubctl"`},
		{"unknown artifact field", head + overlay + "build:\n  artifacts:\n  - image: web\n    contxt: app\n", 9, 5, `build.artifacts[0].contxt: unknown field`},
		{"wrong type", head + overlay + "build:\n  artifacts:\n  - image: web\n    context: [app]\n", 9, 14, "build.artifacts[0].context: expected a string, got a list"},
		{"wrong type int", head + overlay + "deploy:\n  statusCheckDeadlineSeconds: soon\n", 7, 31, "expected an integer"},
		{"jib", head + overlay + "build:\n  artifacts:\n  - image: web\n    jib: {}\n", 9, 5, "build.artifacts[0].jib: devloop does not build with Jib; use a Dockerfile"},
		{"useBuildkit false", head + overlay + "build:\n  local:\n    useBuildkit: false\n", 8, 18, "always builds with BuildKit"},
		{"profile without a name", head + overlay + "profiles:\n- build: {}\n", 7, 3, "profiles[0].name: required"},
		{"requires missing path", head + overlay + "requires:\n- path: ../other\n", 7, 9, "requires[0].path: ../other does not exist"},
		{"rawYaml", head + "manifests:\n  rawYaml: [k8s/*.yaml]\n", 4, 3, "manifests.rawYaml: not read by devloop yet"},
		{"v2 kubectl manifests", "apiVersion: skaffold/v2beta29\nkind: Config\ndeploy:\n  kubectl:\n    manifests: [k8s/*.yaml]\n", 5, 5, "deploy.kubectl.manifests: not read by devloop yet"},
		{"v4 deploy.kustomize", head + "deploy:\n  kustomize:\n    paths: [k8s]\n", 4, 3, "deploy.kustomize: skaffold/v3 and later have no deploy.kustomize"},
		{"no manifests", head, 1, 1, "manifests.kustomize.paths: required"},
		{"overlay without kustomization", head + "manifests:\n  kustomize:\n    paths: [k8s, app]\n", 5, 18, "manifests.kustomize.paths[1]: the kustomize directory"},
		{"missing context", head + overlay + "build:\n  artifacts:\n  - image: web\n    context: nowhere\n", 9, 14, "build.artifacts[0].context: the build context"},
		{"missing image", head + overlay + "build:\n  artifacts:\n  - context: app\n", 8, 5, "build.artifacts[0].image: required"},
		{"missing overlay dir", head + "manifests:\n  kustomize:\n    paths: [gone]\n", 5, 13, "manifests.kustomize.paths[0]: the kustomize directory"},
		{"port forward type", head + overlay + "portForward:\n- resourceType: ingress\n  resourceName: web\n  port: 80\n", 7, 3, `portForward[0].resourceType: "ingress" is not forwarded`},
		{"second document's apiVersion", head + overlay + "---\napiVersion: skaffold/v1\nkind: Config\n", 7, 13, `unsupported "skaffold/v1"`},
		{"duplicated key", head + overlay + "deploy:\n  kubectl: {}\n  kubectl: {}\n", 8, 3, "duplicated key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := project(t, tc.file)
			_, err := Load(path, Options{})
			if err == nil {
				t.Fatal("Load succeeded; want an error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T %v is not a *config.Error", err, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if ce.Line != tc.line || (tc.col != 0 && ce.Column != tc.col) {
				t.Errorf("error at %d:%d, want %d:%d (%v)", ce.Line, ce.Column, tc.line, tc.col, err)
			}
			if !strings.HasPrefix(err.Error(), path) {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestIsSkaffold(t *testing.T) {
	if !IsSkaffold([]byte(head)) || IsSkaffold([]byte("apiVersion: devloop.dev/v1alpha1\n")) || IsSkaffold([]byte("{")) {
		t.Error("IsSkaffold misjudged")
	}
}
