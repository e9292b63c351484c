package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// restartScenario is scenario 9: save → the new
// answer served, measured from outside by polling the port-forwarded URL,
// for a Go edit to a FROM scratch image (built here by the sync rule's run
// command, received and restarted by devloop's helper) and for a Python
// edit under gunicorn --reload (examples/marvel's frontend). The baseline
// in the same run is the raw go build of the same edit, which the Go path
// cannot beat.
func (b *Bench) restartScenario(ctx context.Context) error {
	return errors.Join(b.goRestart(ctx), b.pythonReload(ctx))
}

// scratchWebDockerfile is the notes web image FROM scratch (no shell, no
// tar); /app belongs to the app's user so the helper can rename over it.
const scratchWebDockerfile = `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOPROXY=off GOFLAGS=-trimpath
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w" -o /out/app/web . && chown -R 65532:65532 /out/app

FROM scratch
COPY --from=build --chown=65532:65532 /out/app /app
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/app/web"]
`

const goRestartRule = `      context: web
      sync:
        - src: "**/*.go"
          dest: /app/web
          restart: true
          run:
            command: [go, build, -trimpath, "-ldflags=-s -w", -o, "${DEVLOOP_OUTPUT}", .]
            env: {CGO_ENABLED: "0", GOOS: "${DEVLOOP_OS}", GOARCH: "${DEVLOOP_ARCH}", GOPROXY: "off"}
`

func (b *Bench) goRestart(ctx context.Context) error {
	const sc = "restart"
	f, err := b.newNotes(testCluster)
	if err != nil {
		return err
	}
	if err := replaceIn(filepath.Join(f.dir, "devloop.yaml"), "      context: web\n", goRestartRule); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(f.dir, "web", "Dockerfile"), []byte(scratchWebDockerfile), 0o644); err != nil {
		return err
	}
	start := "restart-start-" + b.id
	if _, err := f.setVersion(start); err != nil {
		return err
	}
	p, err := b.startDevloop(f.dir, append([]string{"dev", "-n", f.ns, "--quiet-period", quietPeriod.String(), "--no-logs", "--no-ui"}, b.profileArgs(sc)...)...)
	if err != nil {
		return err
	}
	defer p.Stop(time.Minute)
	if err := waitFirstCycle(ctx, p, 15*time.Minute); err != nil {
		return err
	}
	b.trackImages(p.Events())
	if _, err := f.waitVersion(ctx, start, 2*time.Minute); err != nil {
		return fmt.Errorf("first deploy: %w", err)
	}
	var (
		served = b.res.add(sc, "Go edit, FROM scratch: save → new answer served (port-forward poll)", "ms", le(1000, "≤ 1.0 s"))
		phases = b.res.add(sc, "Go edit: sync phases (go build here + copy + restart)", "ms", nil)
		detect = b.res.add(sc, "Go edit: save → cycle start", "ms", nil)
		after  = b.res.add(sc, "Go edit: devloop's cycle done (restarted) → new answer served", "ms", nil)
		builds = b.res.add(sc, "Go edit: image builds", "count", le(0, "0"))
		raw    = b.res.add(sc, "baseline: raw go build of the same edit (this machine)", "ms", nil)
	)
	n := b.reps(10, 4)
	for i := 0; i < n; i++ {
		from := p.Len()
		v := fmt.Sprintf("restart-%s-%d", b.id, i)
		save, err := f.setVersion(v)
		if err != nil {
			return err
		}
		at, err := f.waitVersion(ctx, v, time.Minute)
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		served.Samples = append(served.Samples, ms(at.Sub(save)))
		end, _, err := p.WaitFor(ctx, from, time.Minute, func(e Event) bool { return e.Phase == "cycle" && e.Status != "start" && e.Cycle > 1 })
		if err != nil {
			return fmt.Errorf("edit %d: the cycle did not end: %w", i, err)
		}
		if st, _, err := p.WaitFor(ctx, from, time.Second, func(e Event) bool { return e.Phase == "cycle" && e.Status == "start" }); err == nil {
			detect.Samples = append(detect.Samples, ms(st.Time.Sub(save)))
		}
		after.Samples = append(after.Samples, ms(at.Sub(end.Time)))
		phases.Samples = append(phases.Samples, phaseSum(p.Events()[from:], "sync"))
		builds.Samples = append(builds.Samples, float64(countBuilds(p.Events()[from:])))
		time.Sleep(300 * time.Millisecond)
	}
	b.samples["restart.events"] = p.Events()
	// The raw build, in a copy of web/ (an edit under web/ would start
	// devloop's own build beside it), under the same polling as the edits.
	dir, err := b.tempDir("restart-raw")
	if err != nil {
		return err
	}
	if err := copyTree(filepath.Join(f.dir, "web"), dir); err != nil {
		return fmt.Errorf("copying web: %w", err)
	}
	stopPolling := pollWhile(ctx, fmt.Sprintf("http://127.0.0.1:%d/version", f.port))
	defer stopPolling()
	out := filepath.Join(dir, "raw-web")
	for i := 0; i < n; i++ {
		src := fmt.Sprintf("package main\n\nconst Version = %q\n", fmt.Sprintf("raw-%s-%d", b.id, i))
		if _, err := writeFile(filepath.Join(dir, "version.go"), []byte(src)); err != nil {
			return err
		}
		d, o, err := b.cmd(ctx, dir, "env", "CGO_ENABLED=0", "GOPROXY=off", "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
		if err != nil {
			return fmt.Errorf("raw go build: %w: %s", err, tail(o, 300))
		}
		raw.Samples = append(raw.Samples, ms(d))
	}
	return nil
}

// marvelFrontendManifests are the frontend of examples/marvel alone (no
// MongoDB: /healthz never touches it) with the dev overlay's reload patch.
const marvelFrontendKustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: %s
resources:
  - namespace.yaml
  - frontend.yaml
patches:
  - path: reload.yaml
configMapGenerator:
  - name: marvel-config
    literals: [MONGODB_URI=mongodb://nowhere:27017/, MONGODB_DATABASE=marvel]
secretGenerator:
  - name: mongo-credentials
    literals: [MONGODB_USERNAME=x, MONGODB_PASSWORD=x]
`

func (b *Bench) pythonReload(ctx context.Context) error {
	const sc = "restart"
	dir, err := b.tempDir("reload")
	if err != nil {
		return err
	}
	ns := b.namespace("reload")
	port, err := freePort()
	if err != nil {
		return err
	}
	marvel := filepath.Join(b.root, "examples", "marvel")
	if err := copyTree(filepath.Join(marvel, "frontend"), filepath.Join(dir, "frontend")); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
		return err
	}
	for _, c := range []struct{ from, to string }{
		{"k8s/base/frontend.yaml", "k8s/frontend.yaml"}, {"k8s/overlays/dev/reload.yaml", "k8s/reload.yaml"},
	} {
		body, err := os.ReadFile(filepath.Join(marvel, c.from))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, c.to), body, 0o644); err != nil {
			return err
		}
	}
	files := map[string]string{
		"k8s/kustomization.yaml": fmt.Sprintf(marvelFrontendKustomization, ns),
		"k8s/namespace.yaml":     "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n",
		"devloop.yaml": fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: bench-reload-%s
build:
  artifacts:
    - image: marvel-frontend
      context: frontend
      sync:
        - src: "**/*.py"
          dest: /app
deploy:
  kustomize:
    path: k8s
portForward:
  - resource: service/marvel-frontend
    port: 80
    localPort: %d
`, b.id, port),
	}
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	p, err := b.startDevloop(dir, "dev", "--quiet-period", quietPeriod.String(), "--no-logs", "--no-ui")
	if err != nil {
		return err
	}
	defer p.Stop(time.Minute)
	if err := waitFirstCycle(ctx, p, 15*time.Minute); err != nil {
		return err
	}
	b.trackImages(p.Events())
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", port)
	if _, err := pollFor(ctx, url, "ok", 2*time.Minute); err != nil {
		return fmt.Errorf("first deploy: %w", err)
	}
	var (
		served = b.res.add(sc, "Python edit, gunicorn --reload: save → new answer served (port-forward poll)", "ms", le(1000, "≤ 1.0 s"))
		synced = b.res.add(sc, "Python edit: save → devloop's sync done", "ms", nil)
		builds = b.res.add(sc, "Python edit: image builds", "count", le(0, "0"))
	)
	app := filepath.Join(dir, "frontend", "app.py")
	orig, err := os.ReadFile(app)
	if err != nil {
		return err
	}
	const line = `return "ok\n", 200`
	if !strings.Contains(string(orig), line) {
		return fmt.Errorf("%s has no %s to edit", app, line)
	}
	n := b.reps(10, 4)
	for i := 0; i < n; i++ {
		from := p.Len()
		marker := fmt.Sprintf("reload-%s-%d", b.id, i)
		save, err := writeFile(app, []byte(strings.Replace(string(orig), line, `return "ok `+marker+`\n", 200`, 1)))
		if err != nil {
			return err
		}
		at, err := pollFor(ctx, url, marker, time.Minute)
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		served.Samples = append(served.Samples, ms(at.Sub(save)))
		e, _, err := p.WaitFor(ctx, from, time.Minute, func(e Event) bool { return e.Phase == "sync" && e.Status != "start" })
		if err != nil || e.Status != "done" {
			return fmt.Errorf("edit %d: sync %s %v", i, e.Message, err)
		}
		synced.Samples = append(synced.Samples, ms(e.Time.Sub(save)))
		time.Sleep(1500 * time.Millisecond) // gunicorn's workers settle before the next edit
		builds.Samples = append(builds.Samples, float64(countBuilds(p.Events()[from:])))
	}
	b.samples["reload.events"] = p.Events()
	return nil
}
