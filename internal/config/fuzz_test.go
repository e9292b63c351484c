package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const newSurfaces = `apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: notes
build:
  builder: team
  artifacts:
    - image: notes-web
      context: web
      cacheFrom: [type=registry,ref=localhost:5000/cache]
      cacheTo: [type=registry,ref=localhost:5000/cache,mode=max]
      hooks:
        before: [{command: ["sh", "-c", "make generate"], dir: ".", timeout: 2m}]
        after: [{command: ["./scan.sh"], os: [linux]}]
      sync:
        - src: "**/*.go"
          dest: /app
          run: {command: ["go", "build", "-o", ".devloop/web", "."], env: {CGO_ENABLED: "0"}}
          restart: true
          hooks: {after: [{command: ["/bin/true"]}]}
deploy:
  imagePullSecrets:
    - regcred
  hooks:
    before: [{command: ["./migrate.sh"]}]
    after:
      - container: {selector: "app=web", container: web}
        command: ["/web", "-selfcheck"]
  helm:
    releases:
      - name: notes
        chart: charts/notes
        namespace: notes-dev
        valuesFiles: [charts/notes/values-dev.yaml]
        setValues: {web.replicas: "1"}
        imageValues: {web.image: notes-web}
  kustomize:
    path: k8s/overlays/dev
`

// FuzzLoad feeds arbitrary bytes to the decoder: it must never panic, and any error must
// be a located configuration error. The seed corpus is in testdata/fuzz/FuzzLoad; run
// longer with go test -run '^$' -fuzz FuzzLoad -fuzztime 30s ./internal/config.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(withProfiles))
	f.Add([]byte(""))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte(minimal + "  adopt: true\n"))
	f.Add([]byte(minimal + "  adopt: [yes, {no: 1}]\nprofiles:\n  - name: prod\n    deploy: {adopt: 0}\n"))
	// The surfaces added since: hooks, Helm releases, sync with a host
	// command and a restart, builders and caches, pull secrets.
	f.Add([]byte(newSurfaces))
	f.Add([]byte(strings.ReplaceAll(newSurfaces, "timeout: 2m", "timeout: [1]")))
	f.Add([]byte(strings.ReplaceAll(newSurfaces, "web.image: notes-web", "web.image: [x]")))
	f.Add([]byte(strings.ReplaceAll(newSurfaces, "restart: true", "restart: maybe")))
	f.Add([]byte(strings.ReplaceAll(newSurfaces, "- regcred", "- Not_A_Name")))
	dir := f.TempDir()
	for _, p := range []string{"web", "api", "k8s/overlays/dev", "k8s/overlays/prod", "k8s/overlays/staging"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for _, p := range []string{"web/Dockerfile", "api/Dockerfile", "k8s/overlays/dev/kustomization.yaml", "k8s/overlays/prod/kustomization.yaml", "k8s/overlays/staging/Kustomization"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x\n"), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	name := filepath.Join(dir, "devloop.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []Options{{}, {Profiles: []string{"prod"}, KubeContext: "staging"}} {
			c, err := Parse(name, data, opts)
			if err != nil {
				var list ErrorList
				if !asList(err, &list) || len(list) == 0 {
					t.Fatalf("error %v (%T) is not a non-empty ErrorList", err, err)
				}
				continue
			}
			if _, err := c.Render(); err != nil {
				t.Fatalf("render of a loaded configuration: %v", err)
			}
		}
	})
}
