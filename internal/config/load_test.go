package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadMinimalAppliesDefaultsAndResolvesPaths(t *testing.T) {
	path := project(t, minimal+`portForward:
  - resource: service/web
    port: 80
`)
	c, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	a := c.Build.Artifacts[0]
	if a.ContextDir != filepath.Join(dir, "web") || a.DockerfilePath != filepath.Join(dir, "web", "Dockerfile") || a.Dockerfile != "Dockerfile" {
		t.Errorf("artifact paths: %+v", a)
	}
	if c.Deploy.Kustomize.Dir != filepath.Join(dir, "k8s/overlays/dev") || c.File != path || c.Dir != dir {
		t.Errorf("paths: file %s dir %s kustomize %s", c.File, c.Dir, c.Deploy.Kustomize.Dir)
	}
	if c.Deploy.StatusTimeout != 5*time.Minute || c.Dev.QuietPeriod != 50*time.Millisecond {
		t.Errorf("durations: %v %v", c.Deploy.StatusTimeout, c.Dev.QuietPeriod)
	}
	pf := c.PortForward[0]
	if pf.LocalPort != 80 || pf.Address != "127.0.0.1" || pf.Kind() != "service" || pf.Name() != "web" {
		t.Errorf("port-forward defaults: %+v", pf)
	}
	if o, ok := c.Origin("deploy.statusTimeout"); !ok || !o.Default {
		t.Errorf("statusTimeout origin %+v, want default", o)
	}
	if o, ok := c.Origin("build.artifacts[0].image"); !ok || o.Line != 7 || o.Column != 14 || o.Profile != "" {
		t.Errorf("image origin %+v, want 7:14", o)
	}
}

func TestLoadFullConfig(t *testing.T) {
	path := project(t, `apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: notes
build:
  platforms: [linux/amd64]
  builder: multi
  artifacts:
    - image: registry.example.com:5000/team/notes-api
      context: api
      dockerfile: Dockerfile.prod
      target: runtime
      buildArgs: {VERSION: 1.10, NAME: api}
      platforms: [linux/arm64/v8]
      cacheFrom: ["type=local,src=/tmp/c"]
      cacheTo:
        - type=local,dest=/tmp/c
      sync:
        - src: "app/**/*.py"
          dest: /code
deploy:
  kustomize:
    path: k8s/overlays/staging
  namespace: notes-dev
  statusTimeout: 90s
portForward:
  - resource: deployment/api
    port: 8080
    localPort: 18080
    address: "::1"
    namespace: other
registry: 127.0.0.1:5000
allowContexts: [remote-test]
dev:
  quietPeriod: 200ms
`)
	c, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := c.Build.Artifacts[0]
	if a.BuildArgs["VERSION"] != "1.10" || a.Target != "runtime" || a.Sync[0].Dest != "/code" || a.CacheTo[0] != "type=local,dest=/tmp/c" {
		t.Errorf("artifact: %+v", a)
	}
	if c.Deploy.StatusTimeout != 90*time.Second || c.Dev.QuietPeriod != 200*time.Millisecond || c.PortForward[0].LocalPort != 18080 {
		t.Errorf("values: %+v %+v %+v", c.Deploy, c.Dev, c.PortForward)
	}
	if c.Registry != "127.0.0.1:5000" || c.AllowContexts[0] != "remote-test" || c.Build.Builder != "multi" {
		t.Errorf("values: %q %v %q", c.Registry, c.AllowContexts, c.Build.Builder)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "devloop.yaml"), Options{})
	var e *Error
	if !asError(err, &e) || !strings.Contains(e.Error(), "cannot read the configuration") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadAdopt(t *testing.T) {
	c, err := Load(project(t, minimal), Options{})
	if err != nil || c.Deploy.Adopt {
		t.Fatalf("default adopt = %v (%v), want false", c != nil && c.Deploy.Adopt, err)
	}
	path := project(t, minimal+"  adopt: false\nprofiles:\n  - name: takeover\n    deploy:\n      adopt: true\n")
	if c, err = Load(path, Options{}); err != nil || c.Deploy.Adopt {
		t.Fatalf("adopt: false loaded as %v (%v)", c != nil && c.Deploy.Adopt, err)
	}
	if c, err = Load(path, Options{Profiles: []string{"takeover"}}); err != nil || !c.Deploy.Adopt {
		t.Fatalf("adopt: true from a profile loaded as %v (%v)", c != nil && c.Deploy.Adopt, err)
	}
	out, err := c.Render()
	if err != nil || !strings.Contains(string(out), "adopt: true # ") {
		t.Errorf("render does not show adopt with its origin (%v):\n%s", err, out)
	}
}
