package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// withProfiles is minimal plus top-level values the profiles below override.
const withProfiles = `apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: notes
build:
  platforms: [linux/amd64]
  builder: local
  artifacts:
    - image: notes-web
      context: web
      buildArgs: {A: top, B: top}
deploy:
  kustomize:
    path: k8s/overlays/dev
  namespace: notes
  statusTimeout: 2m
portForward:
  - resource: service/web
    port: 80
    localPort: 8080
registry: 127.0.0.1:5000
allowContexts: [local-a, local-b]
profiles:
  - name: prod
    activation:
      kubeContext: "prod-.*"
    build:
      platforms: [linux/amd64, linux/arm64]
    deploy:
      kustomize:
        path: k8s/overlays/prod
    registry: registry.example.com/team
    allowContexts: [prod-eu]
  - name: staging
    activation:
      kubeContext: staging
    deploy:
      namespace: notes-staging
      kustomize:
        path: k8s/overlays/staging
    registry: registry.example.com/staging
  - name: api
    build:
      artifacts:
        - image: notes-api
          context: api
          buildArgs: {C: api}
    portForward: []
    dev:
      quietPeriod: 1s
`

func TestProfileMergeRules(t *testing.T) {
	path := project(t, withProfiles)
	base, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(base.ActiveProfiles) != 0 || len(base.Profiles) != 3 || base.Registry != "127.0.0.1:5000" {
		t.Fatalf("no profile should be active: %+v", base.ActiveProfiles)
	}

	prod, err := Load(path, Options{Profiles: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	// Lists replace.
	if want := []string{"linux/amd64", "linux/arm64"}; !reflect.DeepEqual(prod.Build.Platforms, want) {
		t.Errorf("build.platforms %v, want %v", prod.Build.Platforms, want)
	}
	if want := []string{"prod-eu"}; !reflect.DeepEqual(prod.AllowContexts, want) {
		t.Errorf("allowContexts %v, want %v (lists replace)", prod.AllowContexts, want)
	}
	// Scalars replace.
	if prod.Registry != "registry.example.com/team" || !strings.HasSuffix(prod.Deploy.Kustomize.Dir, "k8s/overlays/prod") {
		t.Errorf("registry %q, kustomize %s", prod.Registry, prod.Deploy.Kustomize.Dir)
	}
	// Maps merge: what the profile does not name stays.
	if prod.Build.Builder != "local" || prod.Deploy.Namespace != "notes" || prod.Deploy.StatusTimeout != 2*time.Minute || len(prod.Build.Artifacts) != 1 {
		t.Errorf("fields the profile does not name changed: %+v %+v", prod.Build, prod.Deploy)
	}
	if want := []ActiveProfile{{"prod", "selected with --profile"}}; !reflect.DeepEqual(prod.ActiveProfiles, want) {
		t.Errorf("active %+v, want %+v", prod.ActiveProfiles, want)
	}
	if o, _ := prod.Origin("registry"); o.Profile != "prod" || o.Line != 32 || o.Column != 15 {
		t.Errorf("registry origin %+v, want profile prod at 32:15", o)
	}
	if o, _ := prod.Origin("deploy.namespace"); o.Profile != "" || o.Line != 15 {
		t.Errorf("namespace origin %+v, want the top level at line 15", o)
	}

	api, err := Load(path, Options{Profiles: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	// A list of artifacts replaces wholesale, maps inside it included.
	a := api.Build.Artifacts
	if len(a) != 1 || a[0].Image != "notes-api" || !reflect.DeepEqual(a[0].BuildArgs, map[string]string{"C": "api"}) || a[0].Dockerfile != "Dockerfile" {
		t.Errorf("artifacts %+v", a)
	}
	if len(api.PortForward) != 0 || api.Dev.QuietPeriod != time.Second {
		t.Errorf("portForward %v (an empty list must replace), quietPeriod %v", api.PortForward, api.Dev.QuietPeriod)
	}
}

func TestProfileOrder(t *testing.T) {
	path := project(t, withProfiles)
	for _, tt := range []struct {
		profiles []string
		registry string
		kdir     string
		ns       string
	}{
		{[]string{"prod", "staging"}, "registry.example.com/staging", "overlays/staging", "notes-staging"},
		{[]string{"staging", "prod"}, "registry.example.com/team", "overlays/prod", "notes-staging"},
		{[]string{"prod", "staging", "prod"}, "registry.example.com/staging", "overlays/staging", "notes-staging"},
	} {
		c, err := Load(path, Options{Profiles: tt.profiles})
		if err != nil {
			t.Fatal(err)
		}
		if c.Registry != tt.registry || !strings.HasSuffix(c.Deploy.Kustomize.Dir, tt.kdir) || c.Deploy.Namespace != tt.ns {
			t.Errorf("-p %v: registry %q, kustomize %s, namespace %q; want %q, %s, %q", tt.profiles, c.Registry, c.Deploy.Kustomize.Dir, c.Deploy.Namespace, tt.registry, tt.kdir, tt.ns)
		}
		if len(c.ActiveProfiles) != 2 {
			t.Errorf("-p %v: active %+v, want each profile once", tt.profiles, c.ActiveProfiles)
		}
	}
}

func TestProfileActivation(t *testing.T) {
	path := project(t, withProfiles)
	for _, tt := range []struct {
		name     string
		opts     Options
		want     []ActiveProfile
		registry string
	}{
		{"matching context", Options{KubeContext: "prod-eu"},
			[]ActiveProfile{{"prod", `kube context "prod-eu" matches activation.kubeContext "prod-.*"`}}, "registry.example.com/team"},
		{"whole name must match", Options{KubeContext: "nonprod-eu"}, nil, "127.0.0.1:5000"},
		{"exact name", Options{KubeContext: "staging"},
			[]ActiveProfile{{"staging", `kube context "staging" matches activation.kubeContext "staging"`}}, "registry.example.com/staging"},
		{"prefix is not enough", Options{KubeContext: "staging-2"}, nil, "127.0.0.1:5000"},
		{"no context", Options{}, nil, "127.0.0.1:5000"},
		{"explicit profile applies after the activated one", Options{KubeContext: "prod-eu", Profiles: []string{"staging"}},
			[]ActiveProfile{{"prod", `kube context "prod-eu" matches activation.kubeContext "prod-.*"`}, {"staging", "selected with --profile"}}, "registry.example.com/staging"},
		{"activated and selected applies once", Options{KubeContext: "prod-eu", Profiles: []string{"prod"}},
			[]ActiveProfile{{"prod", "selected with --profile"}}, "registry.example.com/team"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.ActiveProfiles, tt.want) || c.Registry != tt.registry {
				t.Errorf("active %+v registry %q; want %+v %q", c.ActiveProfiles, c.Registry, tt.want, tt.registry)
			}
		})
	}
}

func TestUnknownProfile(t *testing.T) {
	_, err := Load(project(t, withProfiles), Options{Profiles: []string{"prod", "qa"}})
	errs := configErrors(t, err)
	if len(errs) != 1 || errs[0].Msg != `unknown profile "qa"; known profiles: prod, staging, api` {
		t.Errorf("got %v", err)
	}
	_, err = Load(project(t, minimal), Options{Profiles: []string{"prod"}})
	if errs := configErrors(t, err); !strings.Contains(errs[0].Msg, "this file declares no profiles") {
		t.Errorf("got %v", err)
	}
}

// TestProfileErrorsPointIntoTheProfile checks that a value a profile brings is validated
// after the merge, located at the profile's line.
func TestProfileErrorsPointIntoTheProfile(t *testing.T) {
	cfg := minimal + `profiles:
  - name: broken
    deploy:
      kustomize:
        path: k8s/overlays/missing
`
	path := project(t, cfg)
	if _, err := Load(path, Options{}); err != nil {
		t.Fatalf("an inactive profile's paths are not checked: %v", err)
	}
	_, err := Load(path, Options{Profiles: []string{"broken"}})
	checkErrors(t, err, []wantError{{16, 15, "deploy.kustomize.path: the kustomize directory"}})
}

func TestRenderShowsProvenance(t *testing.T) {
	c, err := Load(project(t, withProfiles), Options{Profiles: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		"# active profile prod: selected with --profile",
		"# declared profiles: prod, staging, api",
		"registry: registry.example.com/team # profile prod at ",
		"devloop.yaml:32:15",
		"platforms: [linux/amd64, linux/arm64] # profile prod at ",
		"namespace: notes # ",
		"devloop.yaml:15:14",
		"statusTimeout: 2m # ",
		"quietPeriod: 50ms # default",
		"dockerfile: Dockerfile # default",
		"address: 127.0.0.1 # default",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("render lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\nprofiles:") || strings.Contains(text, "activation") {
		t.Errorf("render shows profile declarations:\n%s", text)
	}
	// The rendered configuration is itself a valid configuration (comments aside).
	again, err := Parse(c.File, out, Options{})
	if err != nil {
		t.Fatalf("rendered configuration does not load: %v\n%s", err, text)
	}
	if again.Registry != c.Registry || !reflect.DeepEqual(again.Build, c.Build) || !reflect.DeepEqual(again.Deploy, c.Deploy) {
		t.Errorf("rendered configuration differs:\n%s", text)
	}
}

func TestRenderShowsListsEmptiedByAProfile(t *testing.T) {
	c, err := Load(project(t, withProfiles), Options{Profiles: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "portForward: [] # profile api at ") {
		t.Errorf("render does not say the api profile emptied portForward:\n%s", out)
	}
}
