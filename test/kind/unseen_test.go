package kindtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// An app devloop never saw, written here (a Go server, a Deployment and a
// Service, plain kustomize): `devloop run` on kind delivers it, the pod runs
// the delivered image and the page answers through devloop's port-forward.
func TestKindUnseenApp(t *testing.T) {
	env := testenv.RequireKind(t)
	dir := t.TempDir()
	name := fmt.Sprintf("greeter-%d", time.Now().UnixNano()%1_000_000_000)
	greeting := "hello from " + name
	port := devproc.FreePort(t)
	files := map[string]string{
		"devloop.yaml": fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: %[1]s
build:
  artifacts:
    - image: greeter
      context: app
deploy:
  kustomize:
    path: k8s
  statusTimeout: 3m
portForward:
  - resource: service/greeter
    port: 80
    localPort: %[2]d
`, name, port),
		"app/go.mod": "module greeter\n\ngo 1.26\n",
		"app/main.go": `// Package main greets; ` + name + ` makes this content new to every cache.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, os.Getenv("GREETING")) })
	_ = http.ListenAndServe(":8080", nil)
}
`,
		"app/Dockerfile": `FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOPROXY=off
COPY . .
RUN go build -o /greeter .
FROM debian:bookworm-slim
COPY --from=build /greeter /greeter
ENTRYPOINT ["/greeter"]
`,
		"k8s/kustomization.yaml": "namespace: " + name + "\nresources: [namespace.yaml, app.yaml]\n",
		"k8s/namespace.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n",
		"k8s/app.yaml": fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: greeter
spec:
  selector:
    matchLabels: {app: greeter}
  template:
    metadata:
      labels: {app: greeter}
    spec:
      containers:
      - name: greeter
        image: greeter
        env: [{name: GREETING, value: %q}]
        ports: [{containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: 8080}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: greeter
spec:
  selector: {app: greeter}
  ports: [{port: 80, targetPort: 8080}]
`, greeting),
	}
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k := newKit(t, env, dir, name)
	before := k.registryBytes()
	evs := k.run()
	if b := byArtifact(evs, "build")["greeter"]; b.Status != "done" {
		t.Fatalf("build of greeter: %+v%s", b, dump(evs))
	}
	if moved := k.registryBytes() - before; moved <= 0 {
		t.Fatalf("the registry did not grow (%d bytes) after the first push of greeter", moved)
	}
	img := k.kubectl("get", "deployment", "greeter", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	if !strings.HasPrefix(img, env.KindRegistry+"/greeter@sha256:") {
		t.Fatalf("Deployment image %q; want the pushed digest in %s", img, env.KindRegistry)
	}
	k.assertRunning("app=greeter", digestOf(img))
	if got := k.forwardAndGet("/"); !strings.Contains(got, greeting) {
		t.Fatalf("GET / through the port-forward = %q, want %q", got, greeting)
	}
}
