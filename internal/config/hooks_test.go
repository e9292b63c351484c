package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const withHooks = `apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: notes
build:
  artifacts:
    - image: notes-web
      context: web
      hooks:
        before: [{command: ["sh", "-c", "make generate"], dir: "web", timeout: 2m}]
        after:  [{command: ["./scripts/scan.sh"], os: [linux, darwin]}]
      sync:
        - src: "static/**"
          dest: /app
          hooks:
            after: [{command: ["kill", "-HUP", "1"]}]
deploy:
  kustomize:
    path: k8s/overlays/dev
  hooks:
    before: [{command: ["./scripts/migrate.sh"]}]
    after:
      - command: ["sh", "-c", "echo deployed $DEVLOOP_NAMESPACE"]
      - container: {selector: "app=api", container: api}
        command: ["/api", "-selfcheck"]
`

func TestLoadHooks(t *testing.T) {
	path := project(t, withHooks)
	c, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	a := c.Build.Artifacts[0]
	if b := a.Hooks.Before[0]; b.DirPath != filepath.Join(dir, "web") || b.Timeout != 2*time.Minute || b.Command[2] != "make generate" {
		t.Errorf("before-build hook %+v", b)
	}
	if h := a.Hooks.After[0]; h.DirPath != dir || h.Timeout != DefaultHookTimeout || strings.Join(h.OS, ",") != "linux,darwin" {
		t.Errorf("after-build hook %+v: want the config's dir and the default timeout", h)
	}
	if h := a.Sync[0].Hooks.After[0]; h.Command[0] != "kill" {
		t.Errorf("sync hook %+v", h)
	}
	after := c.Deploy.Hooks.After
	if len(after) != 2 || after[0].InContainer() || !after[1].InContainer() || after[1].Container.Container != "api" {
		t.Errorf("deploy after hooks %+v", after)
	}
}

func TestLoadBadHooks(t *testing.T) {
	cases := []struct{ name, hooks, want string }{
		{"empty command", "deploy:\n  kustomize: {path: k8s/overlays/dev}\n  hooks:\n    before: [{command: []}]\n",
			"deploy.hooks.before[0].command: expected a command"},
		{"unknown os", "deploy:\n  kustomize: {path: k8s/overlays/dev}\n  hooks:\n    after: [{command: [\"true\"], os: [beos]}]\n",
			`deploy.hooks.after[0].os[0]: "beos" is not an operating system`},
		{"bad selector", "deploy:\n  kustomize: {path: k8s/overlays/dev}\n  hooks:\n    after: [{command: [\"true\"], container: {selector: \"app in (\"}}]\n",
			"deploy.hooks.after[0].container.selector"},
		{"container without selector", "deploy:\n  kustomize: {path: k8s/overlays/dev}\n  hooks:\n    after: [{command: [\"true\"], container: {container: api}}]\n",
			"a container hook needs selector"},
		{"missing dir", "deploy:\n  kustomize: {path: k8s/overlays/dev}\n  hooks:\n    before: [{command: [\"true\"], dir: nowhere}]\n",
			"deploy.hooks.before[0].dir:"},
		{"negative timeout", "deploy:\n  kustomize: {path: k8s/overlays/dev}\n  hooks:\n    before: [{command: [\"true\"], timeout: -1s}]\n",
			"deploy.hooks.before[0].timeout: expected a positive duration"},
		{"unknown field", "deploy:\n  kustomize: {path: k8s/overlays/dev}\n  hooks:\n    before: [{cmd: [\"true\"]}]\n",
			`unknown field "cmd"`},
	}
	base := strings.Split(minimal, "deploy:")[0]
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(project(t, base+c.hooks), Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to contain %q", err, c.want)
			}
			var ce *Error
			if !asError(err, &ce) || ce.Line == 0 {
				t.Fatalf("err %v has no line:column", err)
			}
		})
	}
	// A container hook on a build is refused: builds run on this machine.
	bad := strings.Replace(minimal, "      context: web\n", "      context: web\n      hooks:\n        before: [{command: [\"x\"], container: {selector: \"app=x\"}}]\n", 1)
	if _, err := Load(project(t, bad), Options{}); err == nil || !strings.Contains(err.Error(), "only deploy hooks run in selected containers") {
		t.Fatalf("container hook on a build: %v", err)
	}
}
