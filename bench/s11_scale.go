package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// scaleScenario deploys generated projects of 1, 10 and 30 services under
// `devloop dev` and measures, per size, the start to all services Ready,
// the added wait of a one-service edit over the raw build of that service,
// the builds per edit, and devloop's idle CPU and RSS.
func (b *Bench) scaleScenario(ctx context.Context) error {
	for _, n := range []int{1, 10, 30} {
		if err := b.scaleSize(ctx, n); err != nil {
			b.res.errorf("scale", "%d services: %v", n, err)
		}
	}
	return nil
}

// scaleProject is a generated project of n services in dir: svc-0 … svc-N,
// each its own context with the same Dockerfile, go.mod and main.go (so
// BuildKit builds the server once for all) and its own content.txt.
type scaleProject struct {
	dir, ns string
	n, port int
}

const scaleMain = `package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		data, err := os.ReadFile("/content.txt")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(data)
	})
	_ = http.ListenAndServe(":8080", nil)
}
`

const scaleDockerfile = `FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
ENV CGO_ENABLED=0 GOPROXY=off GOFLAGS=-trimpath
COPY go.mod main.go ./
RUN --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w" -o /out/srv .
FROM debian:bookworm-slim
COPY --from=build /out/srv /usr/local/bin/srv
COPY content.txt /content.txt
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/srv"]
`

func (b *Bench) newScale(n int) (*scaleProject, error) {
	dir, err := b.tempDir(fmt.Sprintf("scale-%d", n))
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &scaleProject{dir: dir, ns: b.namespace(fmt.Sprintf("scale%d", n)), n: n, port: port}
	files := map[string]string{}
	var arts, res strings.Builder
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc-%d", i)
		img := fmt.Sprintf("bench-scale-%s", name)
		files[name+"/Dockerfile"] = scaleDockerfile
		files[name+"/go.mod"] = "module srv\n\ngo 1.22\n"
		files[name+"/main.go"] = scaleMain
		files[name+"/content.txt"] = name + " start\n"
		fmt.Fprintf(&arts, "    - image: %s\n      context: %s\n", img, name)
		fmt.Fprintf(&res, "  - %s.yaml\n", name)
		files["k8s/"+name+".yaml"] = scaleObjects(name, img)
	}
	files["k8s/namespace.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", s.ns)
	files["k8s/kustomization.yaml"] = fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n  - namespace.yaml\n%s", s.ns, res.String())
	files["devloop.yaml"] = fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: bench-scale%d-%s
build:
  artifacts:
%sdeploy:
  kustomize:
    path: k8s
  statusTimeout: 5m
portForward:
  - resource: service/svc-0
    port: 80
    localPort: %d
`, n, b.id, arts.String(), port)
	return s, writeFiles(dir, files)
}

// scaleObjects is one service's Deployment and Service.
func scaleObjects(name, img string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels: {app: %[1]s}
  template:
    metadata:
      labels: {app: %[1]s}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: srv
          image: %[2]s
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /, port: 8080}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector: {app: %[1]s}
  ports: [{port: 80, targetPort: 8080}]
`, name, img)
}

func (s *scaleProject) url() string { return fmt.Sprintf("http://127.0.0.1:%d/", s.port) }

func (b *Bench) scaleSize(ctx context.Context, n int) error {
	const sc = "scale"
	pre := fmt.Sprintf("%d svc: ", n)
	s, err := b.newScale(n)
	if err != nil {
		return err
	}
	p, err := b.startDevloop(s.dir, append([]string{"dev", "-n", s.ns, "--quiet-period", quietPeriod.String()}, b.profileArgs(fmt.Sprintf("scale%d", n))...)...)
	if err != nil {
		return err
	}
	defer p.Stop(30 * time.Second)
	t0 := time.Now()
	if err := waitFirstCycle(ctx, p, 15*time.Minute); err != nil {
		return err
	}
	b.trackImages(p.Events())
	b.res.add(sc, pre+"dev start → first cycle done (all services Ready, devloop's status)", "ms", nil).Samples = []float64{ms(time.Since(t0))}
	if _, err := pollFor(ctx, s.url(), "svc-0 start", 2*time.Minute); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	idle := 30 * time.Second
	if b.quick {
		idle = 10 * time.Second
	}
	idlePct, err := idleCPU(p.Pid(), idle)
	if err != nil {
		return err
	}
	mem, err := readMemory(p.Pid())
	if err != nil {
		return err
	}
	var cpuT, rssT *Target
	if n == 30 {
		cpuT, rssT = le(1, "≤ 1%"), le(150, "≤ 150MB")
	}
	b.res.add(sc, fmt.Sprintf("%sidle CPU over %s (%% of one core)", pre, idle), "%", cpuT).Samples = []float64{idlePct}
	b.res.add(sc, pre+"RSS after idle (VmRSS)", "MB", rssT).Samples = []float64{mem.rss}
	return b.scaleEdits(ctx, s, p, pre)
}

// scaleEdits edits svc-0's content.txt, waits until the port-forward
// serves it, then runs the raw `docker buildx build --load` of the same
// edit in a copy of svc-0 under the same polling load.
func (b *Bench) scaleEdits(ctx context.Context, s *scaleProject, p *Proc, pre string) error {
	const sc = "scale"
	var (
		total  = b.res.add(sc, pre+"edit of one service: save → served", "ms", nil)
		bx     = b.res.add(sc, pre+"baseline: docker buildx build --load of that service", "ms", nil)
		added  = b.res.add(sc, pre+"added wait = (save → served) − raw build", "ms", nil)
		builds = b.res.add(sc, pre+"builds per edit", "count", le(1, "= 1"))
	)
	if s.n == 30 {
		b.scaleAddedTarget(added)
	}
	bdir, err := b.tempDir(fmt.Sprintf("scale-%d-baseline", s.n))
	if err != nil {
		return err
	}
	if err := copyTree(filepath.Join(s.dir, "svc-0"), bdir); err != nil {
		return err
	}
	for i := 0; i < b.reps(5, 2); i++ {
		from := p.Len()
		v := fmt.Sprintf("svc-0 edit %s-%d-%d", b.id, i, time.Now().UnixNano()%1e6)
		save, err := writeFile(filepath.Join(s.dir, "svc-0", "content.txt"), []byte(v+"\n"))
		if err != nil {
			return err
		}
		ready, err := pollFor(ctx, s.url(), v, 5*time.Minute)
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		_, _, evs, err := editCycle(ctx, p, from)
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		b.trackImages(evs)
		builds.Samples = append(builds.Samples, float64(countBuilds(evs)))
		tot := ms(ready.Sub(save))
		total.Samples = append(total.Samples, tot)

		if _, err := writeFile(filepath.Join(bdir, "content.txt"), []byte(v+" baseline\n")); err != nil {
			return err
		}
		ref := fmt.Sprintf("bench-scale-baseline-%s:%d-%d", b.id, s.n, i)
		b.image(ref)
		stop := pollWhile(ctx, s.url())
		d, out, err := b.cmd(ctx, bdir, "docker", "buildx", "build", "--load", "-t", ref, ".")
		stop()
		if err != nil {
			return fmt.Errorf("baseline %d: %w: %s", i, err, tail(out, 300))
		}
		bx.Samples = append(bx.Samples, ms(d))
		added.Samples = append(added.Samples, tot-ms(d))
		fmt.Fprintf(os.Stderr, "    %sedit %d: served in %.0fms, raw build %.0fms, %d builds\n", pre, i, tot, ms(d), countBuilds(evs))
		time.Sleep(time.Second)
	}
	if s.n == 1 {
		b.scaleAdded1 = added
	}
	return nil
}

// scaleAddedTarget sets the 30-service added wait's target from the
// 1-service median of the same run: 1.2x, or +300 ms if that is larger.
func (b *Bench) scaleAddedTarget(m *Metric) {
	if b.scaleAdded1 == nil || len(b.scaleAdded1.Samples) == 0 {
		return
	}
	b.scaleAdded1.finish()
	one := b.scaleAdded1.Median
	limit := max(1.2*one, one+300)
	m.Target = le(limit, fmt.Sprintf("≤ max(1.2x, +300ms) of 1 svc = %.0fms", limit))
}
