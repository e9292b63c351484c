package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// helmProject is project() with a chart in charts/app.
func helmProject(t *testing.T, cfg string) string {
	t.Helper()
	path := project(t, cfg)
	dir := filepath.Dir(path)
	for name, content := range map[string]string{
		"charts/app/Chart.yaml":      "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"charts/app/values.yaml":     "web:\n  image: x\n  replicas: 2\ntitle: t\n",
		"charts/app/values-dev.yaml": "extra:\n  port: 1\n",
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

const helmBase = `apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: notes
build:
  artifacts:
    - image: notes-web
      context: web
deploy:
  helm:
    releases:
      - name: app
        chart: charts/app
        namespace: app-dev
        valuesFiles: [charts/app/values-dev.yaml]
        setValues: {web.replicas: "1", extra.port: "2"}
        imageValues: {web.image: notes-web}
`

func TestLoadHelm(t *testing.T) {
	path := helmProject(t, helmBase)
	c, err := Load(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Deploy.Kustomize.Dir != "" {
		t.Errorf("kustomize dir %q, want none", c.Deploy.Kustomize.Dir)
	}
	rs := c.Deploy.Helm.Releases
	if len(rs) != 1 {
		t.Fatalf("releases: %+v", rs)
	}
	r := rs[0]
	dir := filepath.Dir(path)
	if r.ChartDir != filepath.Join(dir, "charts", "app") || len(r.ValuesPaths) != 1 || r.ValuesPaths[0] != filepath.Join(dir, "charts", "app", "values-dev.yaml") {
		t.Errorf("paths not resolved: %+v", r)
	}
	if r.SetValues["web.replicas"] != "1" || r.ImageValues["web.image"] != "notes-web" || r.Namespace != "app-dev" {
		t.Errorf("values: %+v", r)
	}
}

func TestLoadHelmAndKustomize(t *testing.T) {
	cfg := helmBase + "  kustomize:\n    path: k8s/overlays/dev\n"
	c, err := Load(helmProject(t, cfg), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Deploy.Kustomize.Dir == "" || len(c.Deploy.Helm.Releases) != 1 {
		t.Errorf("want both: %+v", c.Deploy)
	}
}

// A profile replaces the overlay by a chart: kustomize: null removes it.
func TestHelmProfileRemovesKustomize(t *testing.T) {
	cfg := minimal + `profiles:
  - name: helm
    deploy:
      kustomize: null
      helm:
        releases:
          - {name: app, chart: charts/app, imageValues: {web.image: notes-web}}
`
	c, err := Load(helmProject(t, cfg), Options{Profiles: []string{"helm"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Deploy.Kustomize.Dir != "" || len(c.Deploy.Helm.Releases) != 1 {
		t.Errorf("profile not applied: %+v", c.Deploy)
	}
	if o, _ := c.Origin("deploy.helm.releases[0].chart"); o.Profile != "helm" {
		t.Errorf("origin %+v, want profile helm", o)
	}
}

func TestHelmErrors(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		want           []wantError
	}{
		{"no deploy target", "  helm:\n    releases:\n      - name: app\n        chart: charts/app\n        namespace: app-dev\n        valuesFiles: [charts/app/values-dev.yaml]\n        setValues: {web.replicas: \"1\", extra.port: \"2\"}\n        imageValues: {web.image: notes-web}\n", "  statusTimeout: 1m\n",
			[]wantError{{10, 3, "expected deploy.kustomize (an overlay), deploy.helm.releases (charts) or both"}}},
		{"missing value path", "imageValues: {web.image: notes-web}", "imageValues: {web.imag: notes-web}",
			[]wantError{{17, 33, `the value path "web.imag" does not exist in the values of chart charts/app (web has: image, replicas)`}}},
		{"missing set path", `web.replicas: "1"`, `web.replica: "1"`,
			[]wantError{{16, 34, `the value path "web.replica" does not exist`}}},
		{"not an artifact", "{web.image: notes-web}", "{web.image: notes-api}",
			[]wantError{{17, 34, `"notes-api" is not an artifact`}}},
		{"no chart", "chart: charts/app", "chart: charts/nope",
			[]wantError{{13, 16, "the chart directory"}}},
		{"bad name", "name: app\n", "name: App_1\n",
			[]wantError{{12, 15, `"App_1" is not a release name`}}},
		{"missing values file", "charts/app/values-dev.yaml", "charts/app/nope.yaml",
			[]wantError{{15, 23, "reading values file"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := strings.Replace(helmBase, tc.from, tc.to, 1)
			if cfg == helmBase {
				t.Fatal("replacement did not apply")
			}
			_, err := Load(helmProject(t, cfg), Options{})
			checkErrors(t, err, tc.want)
		})
	}
}
