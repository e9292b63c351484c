package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// deliverScenario is scenario 6: time and bytes to get an image into a
// cluster after a one-line change, for a small image and a ~200 MB one,
// through each delivery path: containerd import (the test cluster's
// default; baseline: `docker save | ctr images import` of the same image
// under a new name, in the same run), a registry push (registry: in
// devloop.yaml), and on the kind cluster the node import (baseline: `kind
// load docker-image` likewise) and kind's advertised local registry.
// devloop reports the bytes it sent to the importer; for the registries the
// growth of the registry's storage is measured instead.
func (b *Bench) deliverScenario(ctx context.Context) error {
	const sc = "deliver"
	dir, err := b.tempDir("deliver")
	if err != nil {
		return err
	}
	ns := b.namespace("deliver")
	registry := os.Getenv("DEVLOOP_REGISTRY")
	files := map[string]string{
		"small/Dockerfile":       "FROM debian:bookworm-slim\nCOPY version.txt /version.txt\n",
		"small/version.txt":      "v0\n",
		"big/Dockerfile":         "FROM debian:bookworm-slim\nRUN head -c 200M /dev/urandom > /blob\nCOPY version.txt /version.txt\n",
		"big/version.txt":        "v0\n",
		"k8s/kustomization.yaml": fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n  - objects.yaml\n", ns),
		"k8s/objects.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deliver\ndata:\n  k: v\n",
	}
	// registry is the configured one; args select the kind cluster; size
	// reads a registry's storage.
	type path struct {
		name, registry string
		args           []string
		size           func() int64
	}
	regDir := filepath.Join(os.Getenv("DEVLOOP_ENV_STATE"), "registry")
	paths := []path{{name: "containerd"}}
	if registry != "" {
		paths = append(paths, path{name: "registry", registry: registry, size: func() int64 { return dirSize(regDir) }})
	} else {
		b.res.errorf(sc, "DEVLOOP_REGISTRY is not set: registry path not measured")
	}
	kindCtx := os.Getenv("DEVLOOP_KIND_CONTEXT")
	if kindCtx != "" {
		paths = append(paths,
			path{name: "kind node import", args: []string{"--kube-context", kindCtx, "--delivery", "import"}},
			path{name: "kind local registry", args: []string{"--kube-context", kindCtx}, size: func() int64 { return b.kindRegistrySize(ctx) }})
	} else {
		b.res.errorf(sc, "DEVLOOP_KIND_CONTEXT is not set: kind paths not measured")
	}
	for _, size := range []string{"small", "big"} {
		for _, p := range paths {
			cfg := fmt.Sprintf("apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: bench-deliver-%s\nbuild:\n  artifacts:\n    - image: bench-%s-%s\n      context: %s\ndeploy:\n  kustomize:\n    path: k8s\n", b.id, size, b.id, size)
			if p.registry != "" {
				cfg += "registry: " + p.registry + "\n"
			}
			files[fmt.Sprintf("devloop-%s-%s.yaml", size, strings.ReplaceAll(p.name, " ", "-"))] = cfg
		}
	}
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	var raw []map[string]any
	defer func() { b.samples["deliver.runs"] = raw }()
	n := b.reps(5, 2)
	for _, size := range []string{"small", "big"} {
		for _, p := range paths {
			label := size + " image, " + p.name
			var (
				cold    = b.res.add(sc, label+": first build+delivery (cold)", "ms", nil)
				build   = b.res.add(sc, label+": build", "ms", nil)
				deliver = b.res.add(sc, label+": deliver", "ms", nil)
				bytesM  = b.res.add(sc, label+": bytes sent to the importer", "KB", nil)
				wall    = b.res.add(sc, label+": devloop build wall", "ms", nil)
				pull    *Metric
				load    *Metric
			)
			if p.size != nil {
				build.Name = label + ": build+push"
				deliver.Name = label + ": deliver (pull happens at deploy)"
				bytesM.Name, bytesM.Unit = label+": registry storage growth (bytes pushed)", "KB"
				if p.registry != "" {
					pull = b.res.add(sc, label+": pull into the cluster's containerd (ctr pull)", "ms", nil)
				}
			}
			// The delivery target: after a one-line change to the
			// ~200 MB image, only missing layers travel on every containerd
			// path: ≤ 1 MB moved, ≤ 0.5 s.
			if size == "big" {
				bytesM.Target = le(1000, "≤ 1 MB")
				if p.size == nil {
					deliver.Target = le(500, "≤ 0.5 s")
				}
			}
			if p.name == "kind node import" {
				load = b.res.add(sc, label+": baseline: kind load docker-image (same image, new name)", "ms", nil)
			}
			if p.name == "containerd" {
				load = b.res.add(sc, label+": baseline: docker save | ctr images import (same image, new name)", "ms", nil)
			}
			cfgFile := fmt.Sprintf("devloop-%s-%s.yaml", size, strings.ReplaceAll(p.name, " ", "-"))
			for i := 0; i <= n; i++ {
				ver := fmt.Sprintf("%s %d %d\n", p.name, i, time.Now().UnixNano())
				if _, err := writeFile(filepath.Join(dir, size, "version.txt"), []byte(ver)); err != nil {
					return err
				}
				var before int64
				if p.size != nil {
					before = p.size()
				}
				t0 := time.Now()
				args := append(append([]string{"build", "-f", cfgFile}, p.args...), b.profileArgs(sc)...)
				pr, err := b.startDevloop(dir, args...)
				if err != nil {
					return err
				}
				rctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
				err = pr.Wait(rctx)
				cancel()
				d := ms(time.Since(t0))
				evs := pr.Events()
				b.trackImages(evs)
				raw = append(raw, map[string]any{"size": size, "path": p.name, "rep": i, "events": evs})
				if err != nil {
					return fmt.Errorf("%s: devloop build: %w: %s", label, err, tail(pr.Stderr(), 4096))
				}
				if i == 0 {
					cold.Samples = append(cold.Samples, d)
					continue
				}
				wall.Samples = append(wall.Samples, d)
				build.Samples = append(build.Samples, phaseSum(evs, "build"))
				deliver.Samples = append(deliver.Samples, phaseSum(evs, "deliver"))
				if load != nil {
					baseline := b.kindLoad
					if p.name == "containerd" {
						baseline = b.saveImport
					}
					if d, err := baseline(ctx, evs, i); err != nil {
						b.res.errorf(sc, "%s: %v", label, err)
					} else {
						load.Samples = append(load.Samples, d)
					}
				}
				if p.size != nil {
					bytesM.Samples = append(bytesM.Samples, float64(p.size()-before)/1e3)
					if pull == nil {
						continue
					}
					if d, err := b.pullIntoCluster(ctx, evs); err != nil {
						b.res.errorf(sc, "%s: %v", label, err)
					} else {
						pull.Samples = append(pull.Samples, d)
					}
				} else {
					var by int64
					for _, e := range evs {
						if e.Phase == "deliver" && (e.Status == "done" || e.Status == "skipped") {
							by += e.Bytes
						}
					}
					bytesM.Samples = append(bytesM.Samples, float64(by)/1e3)
				}
			}
		}
	}
	return nil
}

// dirSize is the total size of the regular files under dir (0 when absent).
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// pullIntoCluster pulls the reference devloop pushed into the cluster's
// containerd, as the kubelet would at deploy time, and returns the time.
func (b *Bench) pullIntoCluster(ctx context.Context, evs []Event) (float64, error) {
	sock := os.Getenv("DEVLOOP_CONTAINERD_SOCK")
	if sock == "" {
		return 0, fmt.Errorf("DEVLOOP_CONTAINERD_SOCK is not set")
	}
	ref := ""
	for _, e := range evs {
		if e.Phase == "deliver" && e.Image != "" {
			ref = e.Image
		}
	}
	if ref == "" {
		return 0, fmt.Errorf("no pushed reference in devloop's events")
	}
	b.image(ref)
	d, _, err := b.cmd(ctx, "", "ctr", "-a", sock, "-n", "k8s.io", "images", "pull", "--plain-http", ref)
	if err != nil {
		return 0, err
	}
	return ms(d), nil
}

// kindLoad is the baseline of the kind node import: `kind load docker-image`
// of the image devloop just built, under a new name (kind skips a name the
// node already has), timed from outside.
func (b *Bench) kindLoad(ctx context.Context, evs []Event, rep int) (float64, error) {
	ref := ""
	for _, e := range evs {
		if e.Phase == "build" && e.Image != "" {
			ref = e.Image
		}
	}
	if ref == "" {
		return 0, fmt.Errorf("no built image in devloop's events")
	}
	alias := fmt.Sprintf("bench-kindload-%s:%d", b.id, rep)
	if _, out, err := b.cmd(ctx, "", "docker", "tag", ref, alias); err != nil {
		return 0, fmt.Errorf("docker tag: %w: %s", err, out)
	}
	b.image(alias)
	b.kindImage(os.Getenv("DEVLOOP_KIND_CLUSTER"), alias)
	d, out, err := b.cmd(ctx, "", "kind", "load", "docker-image", alias, "--name", os.Getenv("DEVLOOP_KIND_CLUSTER"))
	if err != nil {
		return 0, fmt.Errorf("kind load docker-image: %w: %s", err, tail(out, 2048))
	}
	return ms(d), nil
}

// saveImport is the baseline of the containerd import: the image devloop
// just built, under a new name, saved whole and piped into `ctr images
// import` of the test cluster's containerd, timed from outside.
func (b *Bench) saveImport(ctx context.Context, evs []Event, rep int) (float64, error) {
	sock := os.Getenv("DEVLOOP_CONTAINERD_SOCK")
	ref := ""
	for _, e := range evs {
		if e.Phase == "build" && e.Image != "" {
			ref = e.Image
		}
	}
	if ref == "" || sock == "" {
		return 0, fmt.Errorf("no built image in devloop's events or DEVLOOP_CONTAINERD_SOCK not set")
	}
	alias := fmt.Sprintf("bench-saveimport-%s:%d", b.id, rep)
	if _, out, err := b.cmd(ctx, "", "docker", "tag", ref, alias); err != nil {
		return 0, fmt.Errorf("docker tag: %w: %s", err, out)
	}
	b.image(alias)
	script := fmt.Sprintf("docker save %s | ctr -a %s -n k8s.io images import --platform linux/%s -", alias, sock, runtime.GOARCH)
	d, out, err := b.cmd(ctx, "", "bash", "-o", "pipefail", "-c", script)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", script, err, tail(out, 2048))
	}
	return ms(d), nil
}

// kindRegistrySize is the size of the blobs in kind's local registry, read
// in its container (0 when it cannot be read).
func (b *Bench) kindRegistrySize(ctx context.Context) int64 {
	_, out, err := b.cmd(ctx, "", "docker", "exec", "kind-registry", "sh", "-c", "du -sb /var/lib/registry/docker/registry/v2/blobs 2>/dev/null || echo 0")
	if err != nil {
		return 0
	}
	var n int64
	_, _ = fmt.Sscan(out, &n)
	return n
}
