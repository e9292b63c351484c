package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// deliverScenario is scenario 6: time and bytes to get an image into the
// test cluster after a one-line change, for a small image and a ~200 MB one,
// through each delivery path: containerd import (the cluster's default) and
// a registry push (registry: in devloop.yaml). devloop reports the bytes it
// imported; for the registry the growth of the registry's storage is
// measured instead.
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
	type path struct{ name, registry string }
	paths := []path{{"containerd", ""}}
	if registry != "" {
		paths = append(paths, path{"registry", registry})
	} else {
		b.res.errorf(sc, "DEVLOOP_REGISTRY is not set: registry path not measured")
	}
	for _, size := range []string{"small", "big"} {
		for _, p := range paths {
			cfg := fmt.Sprintf("apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: bench-deliver-%s\nbuild:\n  artifacts:\n    - image: bench-%s-%s\n      context: %s\ndeploy:\n  kustomize:\n    path: k8s\n", b.id, size, b.id, size)
			if p.registry != "" {
				cfg += "registry: " + p.registry + "\n"
			}
			files[fmt.Sprintf("devloop-%s-%s.yaml", size, p.name)] = cfg
		}
	}
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	regDir := filepath.Join(os.Getenv("DEVLOOP_ENV_STATE"), "registry")
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
				bytesM  = b.res.add(sc, label+": bytes moved", "MB", nil)
				wall    = b.res.add(sc, label+": devloop build wall", "ms", nil)
				pull    *Metric
			)
			if p.registry != "" {
				build.Name = label + ": build+push"
				deliver.Name = label + ": deliver (pull happens at deploy)"
				bytesM.Name, bytesM.Unit = label+": registry storage growth (bytes pushed)", "KB"
				pull = b.res.add(sc, label+": pull into the cluster's containerd (ctr pull)", "ms", nil)
			}
			cfgFile := fmt.Sprintf("devloop-%s-%s.yaml", size, p.name)
			for i := 0; i <= n; i++ {
				ver := fmt.Sprintf("%s %d %d\n", p.name, i, time.Now().UnixNano())
				if _, err := writeFile(filepath.Join(dir, size, "version.txt"), []byte(ver)); err != nil {
					return err
				}
				before := dirSize(regDir)
				t0 := time.Now()
				pr, err := b.startDevloop(dir, append([]string{"build", "-f", cfgFile}, b.profileArgs(sc)...)...)
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
				if p.registry != "" {
					bytesM.Samples = append(bytesM.Samples, float64(dirSize(regDir)-before)/1e3)
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
					bytesM.Samples = append(bytesM.Samples, float64(by)/1e6)
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
