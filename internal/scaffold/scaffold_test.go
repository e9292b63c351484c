package scaffold

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: %s}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers: [{name: c, image: "%s"}]
`

func TestDetectKustomizeTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "My Shop")
	write(t, dir, map[string]string{
		"web/Dockerfile":                       "FROM scratch\n",
		"api/Dockerfile":                       "FROM scratch\n",
		"tools/Dockerfile":                     "FROM scratch\n",
		"node_modules/x/Dockerfile":            "FROM scratch\n",
		"k8s/base/kustomization.yaml":          "resources: [web.yaml, api.yaml, svc.yaml]\n",
		"k8s/base/web.yaml":                    strings.ReplaceAll(strings.ReplaceAll(deployment, "%s", "web"), `"web"`, `"shop-web:1.0"`),
		"k8s/base/api.yaml":                    strings.ReplaceAll(strings.ReplaceAll(deployment, "%s", "api"), `"api"`, `"ghcr.io/acme/api"`),
		"k8s/base/svc.yaml":                    "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n",
		"k8s/overlays/dev/kustomization.yaml":  "resources: [../../base]\n",
		"k8s/overlays/prod/kustomization.yaml": "resources: [../../base]\n",
	})
	p, err := Detect(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "my-shop" || p.Overlay != "k8s/overlays/dev" {
		t.Fatalf("%+v", p)
	}
	got := ""
	for _, a := range p.Artifacts {
		got += a.Image + "<-" + a.Context + " "
	}
	if got != "ghcr.io/acme/api<-api shop-web<-web " {
		t.Fatalf("artifacts %q", got)
	}
	if len(p.Unused) != 1 || p.Unused[0] != "tools" {
		t.Fatalf("unused %v", p.Unused)
	}
	if p.Forward == nil || p.Forward.Service != "web" || p.Forward.Port != 80 || p.Forward.LocalPort != 8080 {
		t.Fatalf("forward %+v", p.Forward)
	}
	out := Render(p)
	for _, want := range []string{`name: "my-shop"`, `- image: "shop-web"`, `context: "web"`, `path: "k8s/overlays/dev"`, `resource: "service/web"`, "#     context: tools"} {
		if !strings.Contains(out, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, out)
		}
	}
}

func TestDetectPlainManifests(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"Dockerfile":          "FROM scratch\n",
		"manifests/app.yaml":  strings.ReplaceAll(deployment, "%s", "app"),
		"manifests/notes.txt": "not a manifest",
	})
	name := filepath.Base(dir)
	if err := os.WriteFile(filepath.Join(dir, "manifests/app.yaml"), []byte(strings.Replace(strings.ReplaceAll(deployment, "%s", "app"), `image: "app"`, `image: "`+dnsLabel(name)+`"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Detect(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Overlay != "manifests" || !strings.Contains(p.NewKustomization, "  - app.yaml\n") || strings.Contains(p.NewKustomization, "notes.txt") {
		t.Fatalf("%+v", p)
	}
	if len(p.Artifacts) != 1 || p.Artifacts[0].Context != "." {
		t.Fatalf("artifacts %+v", p.Artifacts)
	}
}

func TestDetectSaysWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	if _, err := Detect(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "no Dockerfile") {
		t.Fatalf("err = %v", err)
	}
	write(t, dir, map[string]string{"web/Dockerfile": "FROM scratch\n"})
	if _, err := Detect(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "no kustomization and no Kubernetes manifests") {
		t.Fatalf("err = %v", err)
	}
}
