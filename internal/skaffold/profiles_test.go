package skaffold

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/config"
)

// A configuration with profiles of every kind of change: sections that
// replace or merge, patches, activation by env, kube context and command.
const withProfiles = head + `build:
  local:
    push: false
  artifacts:
  - image: web
    context: app
    docker:
      buildArgs: {MODE: base}
manifests:
  kustomize:
    paths: [k8s]
deploy:
  statusCheckDeadlineSeconds: 30
portForward:
- resourceType: service
  resourceName: web
  port: 8080
profiles:
- name: slow
  deploy:
    statusCheckDeadlineSeconds: 300
- name: two
  build:
    artifacts:
    - image: web
      context: app
    - image: api
      context: app
      docker:
        target: api
- name: patched
  patches:
  - op: replace
    path: /build/artifacts/0/docker/buildArgs/MODE
    value: patched
  - op: add
    path: /portForward/-
    value: {resourceType: deployment, resourceName: web, port: 9090}
  - op: remove
    path: /portForward/0
  - path: /deploy/statusCheckDeadlineSeconds
    value: 45
- name: by-env
  activation:
  - env: DEVLOOP_TEST_MODE=^fa.t$
  deploy:
    statusCheckDeadlineSeconds: 61
- name: by-context
  activation:
  - kubeContext: kind-.*
  deploy:
    statusCheckDeadlineSeconds: 62
- name: by-command
  activation:
  - command: render
  - env: DEVLOOP_TEST_ALL=1
  requiresAllActivations: true
  deploy:
    statusCheckDeadlineSeconds: 63
`

func TestLoadProfiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		env      map[string]string
		timeout  float64
		images   []string
		mode     string
		forwards []string
		active   []string
	}{
		{"none", Options{}, nil, 30, []string{"web"}, "base", []string{"service/web"}, nil},
		{"a section", Options{Options: config.Options{Profiles: []string{"slow"}}}, nil, 300, []string{"web"}, "base", []string{"service/web"}, []string{"slow"}},
		{"a list replaced", Options{Options: config.Options{Profiles: []string{"two"}}}, nil, 30, []string{"web", "api"}, "", []string{"service/web"}, []string{"two"}},
		{"patches", Options{Options: config.Options{Profiles: []string{"patched"}}}, nil, 45, []string{"web"}, "patched", []string{"deployment/web"}, []string{"patched"}},
		{"in order", Options{Options: config.Options{Profiles: []string{"patched", "slow"}}}, nil, 300, []string{"web"}, "patched", []string{"deployment/web"}, []string{"patched", "slow"}},
		{"by env", Options{}, map[string]string{"DEVLOOP_TEST_MODE": "fast"}, 61, []string{"web"}, "base", []string{"service/web"}, []string{"by-env"}},
		{"env not matching", Options{}, map[string]string{"DEVLOOP_TEST_MODE": "faster"}, 30, []string{"web"}, "base", []string{"service/web"}, nil},
		{"by kube context", Options{Options: config.Options{KubeContext: "kind-devloop"}}, nil, 62, []string{"web"}, "base", []string{"service/web"}, []string{"by-context"}},
		{"deactivated", Options{Options: config.Options{KubeContext: "kind-devloop", Profiles: []string{"-by-context"}}}, nil, 30, []string{"web"}, "base", []string{"service/web"}, nil},
		{"all activations needed", Options{Command: "render"}, nil, 30, []string{"web"}, "base", []string{"service/web"}, nil},
		{"all activations hold", Options{Command: "render"}, map[string]string{"DEVLOOP_TEST_ALL": "1"}, 63, []string{"web"}, "base", []string{"service/web"}, []string{"by-command"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := project(t, withProfiles)
			tc.opts.LookupEnv = func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }
			cfg, err := Load(path, tc.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := cfg.Deploy.StatusTimeout.Seconds(); got != tc.timeout {
				t.Errorf("status timeout %vs, want %vs", got, tc.timeout)
			}
			var images, forwards, active []string
			for _, a := range cfg.Build.Artifacts {
				images = append(images, a.Image)
			}
			for _, p := range cfg.PortForward {
				forwards = append(forwards, p.Resource)
			}
			for _, a := range cfg.ActiveProfiles {
				active = append(active, a.Name)
			}
			if !slices.Equal(images, tc.images) || cfg.Build.Artifacts[0].BuildArgs["MODE"] != tc.mode {
				t.Errorf("artifacts %+v, want images %v with MODE %q", cfg.Build.Artifacts, tc.images, tc.mode)
			}
			if !slices.Equal(forwards, tc.forwards) {
				t.Errorf("port forwards %v, want %v", forwards, tc.forwards)
			}
			if !slices.Equal(active, tc.active) {
				t.Errorf("active profiles %v, want %v", active, tc.active)
			}
		})
	}
}

// build.local in a profile replaces the configuration's (Skaffold's
// one-of fields), other mappings merge key by key.
func TestProfileOverlay(t *testing.T) {
	path := project(t, head+overlay+"build:\n  local:\n    push: true\n  artifacts:\n  - {image: web, context: app}\n"+
		"profiles:\n- name: local\n  build:\n    local:\n      concurrency: 2\n")
	if _, err := Load(path, Options{}); err == nil || !strings.Contains(err.Error(), "build.local.push") {
		t.Fatalf("without the profile: %v, want build.local.push refused", err)
	}
	if _, err := Load(path, Options{Options: config.Options{Profiles: []string{"local"}}}); err != nil {
		t.Fatalf("the profile's build.local replaces push: true: %v", err)
	}
}

// requires[].activeProfiles activates profiles of the required
// configurations, always or when an activatedBy profile is active.
func TestRequiredActiveProfiles(t *testing.T) {
	dir := tree(t, map[string]string{
		"skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata: {name: top}
requires:
- path: lib
  activeProfiles:
  - name: extra
    activatedBy: [with-extra]
manifests: {kustomize: {paths: [k8s]}}
profiles:
- name: with-extra
`,
		"k8s/kustomization.yaml": "",
		"lib/skaffold.yaml": `apiVersion: skaffold/v4beta14
kind: Config
metadata: {name: lib}
manifests: {kustomize: {paths: [k8s]}}
profiles:
- name: extra
  manifests: {kustomize: {paths: [k8s, more]}}
`,
		"lib/k8s/kustomization.yaml":  "",
		"lib/more/kustomization.yaml": "",
	})
	root := filepath.Join(dir, "skaffold.yaml")
	cfg, err := Load(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rendered(t, cfg); !slices.Equal(got, []string{"k8s", "lib-k8s"}) {
		t.Errorf("without with-extra: rendered %v", got)
	}
	cfg, err = Load(root, Options{Options: config.Options{Profiles: []string{"with-extra"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := rendered(t, cfg); !slices.Equal(got, []string{"k8s", "lib-k8s", "lib-more"}) {
		t.Errorf("with with-extra: rendered %v", got)
	}
	if len(cfg.ActiveProfiles) != 2 || !strings.Contains(cfg.ActiveProfiles[0].Reason, `activated by "top"`) {
		t.Errorf("active profiles %+v", cfg.ActiveProfiles)
	}
}

func TestProfilesBad(t *testing.T) {
	const p = "profiles:\n- name: p\n"
	for _, tc := range []struct {
		name, file string
		profiles   []string
		line, col  int
		want       string
	}{
		{"unknown profile", head + overlay, []string{"nope"}, 0, 0, `unknown profile "nope"; the configurations declare no profiles`},
		{"unknown profile field", head + overlay + p + "  bulid: {}\n", nil, 8, 3, `profiles[0].bulid: unknown field`},
		{"duplicated profile", head + overlay + p + "- name: p\n", nil, 8, 9, `duplicated profile name "p"`},
		{"bad env", head + overlay + p + "  activation: [{env: NOVALUE}]\n", nil, 8, 22, `profiles[0].activation[0].env: "NOVALUE" is not KEY=VALUE`},
		{"bad regexp", head + overlay + p + "  activation: [{kubeContext: '('}]\n", nil, 8, 30, "invalid regular expression"},
		{"bad patch path", head + overlay + p + "  patches:\n  - op: replace\n    path: /build/artifacts/0/image\n    value: x\n", []string{"p"}, 10, 11,
			"profiles[0].patches[0].path: /build/artifacts/0/image: /build does not exist"},
		{"patch index out of range", head + overlay + "build: {artifacts: [{image: web, context: app}]}\n" + p + "  patches:\n  - op: remove\n    path: /build/artifacts/3\n", []string{"p"}, 11, 11,
			"/build/artifacts/3 does not exist (the list has 1 items)"},
		{"patch replace missing", head + overlay + p + "  patches:\n  - {op: replace, path: /deploy, value: {}}\n", []string{"p"}, 9, 25,
			"/deploy does not exist; use op add"},
		{"patch op", head + overlay + p + "  patches:\n  - {op: merge, path: /deploy}\n", nil, 9, 10, `unknown operation "merge"`},
		{"patch without value", head + overlay + p + "  patches:\n  - {op: add, path: /deploy}\n", nil, 9, 5, "profiles[0].patches[0].value: required by op add"},
		{"refused field from a profile", head + overlay + p + "  build:\n    artifacts:\n    - image: web\n      jib: {}\n", []string{"p"}, 11, 7, "build.artifacts[0].jib: devloop does not build with Jib"},
		{"patched-in unknown field", head + overlay + p + "  patches:\n  - {op: add, path: /deploy, value: {kubctl: {}}}\n", []string{"p"}, 9, 38, `deploy.kubctl: unknown field`},
		{"required profile missing", head + overlay + "requires:\n- configs: [b]\n  activeProfiles: [{name: nope}]\n---\n" + head + "metadata: {name: b}\n", nil, 8, 27,
			`requires[0].activeProfiles[0].name: "b" (`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := project(t, tc.file)
			_, err := Load(path, Options{Options: config.Options{Profiles: tc.profiles}})
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
		})
	}
}

func TestPatchMoveCopyTest(t *testing.T) {
	path := project(t, head+overlay+`build:
  artifacts:
  - image: web
    context: app
    docker: {target: run}
profiles:
- name: p
  patches:
  - {op: test, path: /build/artifacts/0/docker/target, value: run}
  - {op: copy, from: /build/artifacts/0, path: /build/artifacts/-}
  - {op: replace, path: /build/artifacts/1/image, value: api}
  - {op: move, from: /build/artifacts/1/docker/target, path: /build/artifacts/0/docker/target}
- name: failing
  patches:
  - {op: test, path: /build/artifacts/0/docker/target, value: debug}
`)
	cfg, err := Load(path, Options{Options: config.Options{Profiles: []string{"p"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Build.Artifacts) != 2 || cfg.Build.Artifacts[1].Image != "api" || cfg.Build.Artifacts[1].Target != "" || cfg.Build.Artifacts[0].Target != "run" {
		t.Errorf("artifacts %+v", cfg.Build.Artifacts)
	}
	_, err = Load(path, Options{Options: config.Options{Profiles: []string{"failing"}}})
	if err == nil || !strings.Contains(err.Error(), "skaffold.yaml:20:22: profiles[1].patches[0].path: /build/artifacts/0/docker/target: test failed") {
		t.Errorf("failing test op: %v", err)
	}
}

func TestTemplatesAndDefaultNamespace(t *testing.T) {
	env := map[string]string{"MODE": "fast", "TEAM": "blue"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	path := project(t, head+overlay+`build:
  artifacts:
  - image: web
    context: app
    docker:
      buildArgs:
        MODE: "{{.MODE}}-build"
        PLAIN: "no template"
        BOTH: '{{if .TEAM}}team-{{.TEAM}}{{end}}'
deploy:
  kubectl:
    defaultNamespace: "dev-{{.TEAM}}"
`)
	cfg, err := Load(path, Options{Options: config.Options{LookupEnv: lookup}})
	if err != nil {
		t.Fatal(err)
	}
	args := cfg.Build.Artifacts[0].BuildArgs
	if args["MODE"] != "fast-build" || args["PLAIN"] != "no template" || args["BOTH"] != "team-blue" {
		t.Errorf("build args %v", args)
	}
	if cfg.Deploy.Namespace != "dev-blue" {
		t.Errorf("namespace %q, want dev-blue", cfg.Deploy.Namespace)
	}
	delete(env, "TEAM")
	_, err = Load(path, Options{Options: config.Options{LookupEnv: lookup}})
	if err == nil || !strings.Contains(err.Error(), `skaffold.yaml:14:15: build.artifacts[0].docker.buildArgs.BOTH: the template "{{if .TEAM}}team-{{.TEAM}}{{end}}" uses TEAM, which is not set in the environment`) {
		t.Errorf("missing variable: %v", err)
	}
}

func TestTemplatesAndNamespaceBad(t *testing.T) {
	lookup := func(k string) (string, bool) { return "x", k == "SET" }
	for _, tc := range []struct{ name, file, want string }{
		{"bad template", head + overlay + "build:\n  artifacts:\n  - image: web\n    context: app\n    docker:\n      buildArgs: {A: '{{.SET'}\n",
			`skaffold.yaml:11:22: build.artifacts[0].docker.buildArgs.A: invalid template "{{.SET"`},
		{"unknown function", head + overlay + "build:\n  artifacts:\n  - image: web\n    context: app\n    docker:\n      buildArgs: {A: '{{cmd .SET}}'}\n",
			`invalid template "{{cmd .SET}}"`},
		{"namespace not a label", head + overlay + "deploy:\n  kubectl:\n    defaultNamespace: Not_A_Label\n",
			"skaffold.yaml:8:23: deploy.kubectl.defaultNamespace: "},
		{"namespaces differ", head + "metadata: {name: a}\n" + overlay + "deploy: {kubectl: {defaultNamespace: a}}\n---\n" + head + "metadata: {name: b}\n" + overlay + "deploy: {kubectl: {defaultNamespace: b}}\n",
			`skaffold.yaml:15:38: deploy.kubectl.defaultNamespace: "b", but the configuration "a" of`},
		{"v4 deploy.kustomize", head + "deploy:\n  kustomize:\n    paths: [k8s]\n", "skaffold.yaml:4:3: deploy.kustomize: skaffold/v3 and later have no deploy.kustomize"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(project(t, tc.file), Options{Options: config.Options{LookupEnv: lookup}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
		})
	}
}
