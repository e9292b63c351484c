package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// syncScenario is scenario 7: an artifact with a sync rule (static/** →
// /app), one edit of a synced file at a time: save → devloop's sync done
// (the file written in the container), confirmed by `kubectl exec cat`.
func (b *Bench) syncScenario(ctx context.Context) error {
	const sc = "sync"
	dir, err := b.tempDir("sync")
	if err != nil {
		return err
	}
	ns := b.namespace("sync")
	img := "bench-sync-" + b.id
	files := map[string]string{
		"app/Dockerfile":         "FROM debian:bookworm-slim\nCOPY static /app/static\nCMD [\"sleep\", \"infinity\"]\n",
		"app/static/index.html":  "<p>v0</p>\n",
		"app/static/css/app.css": "p { color: black; }\n",
		"devloop.yaml": fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: bench-sync-%s
build:
  artifacts:
    - image: %s
      context: app
      sync:
        - src: "static/**"
          dest: /app
deploy:
  kustomize:
    path: k8s
`, b.id, img),
		"k8s/kustomization.yaml": fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n  - objects.yaml\n", ns),
		"k8s/objects.yaml": fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: synced
spec:
  replicas: 1
  selector:
    matchLabels:
      app: synced
  template:
    metadata:
      labels:
        app: synced
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: %[2]s
          imagePullPolicy: IfNotPresent
`, ns, img),
	}
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	p, err := b.startDevloop(dir, append([]string{"dev", "-n", ns, "--quiet-period", quietPeriod.String(), "--no-logs"}, b.profileArgs(sc)...)...)
	if err != nil {
		return err
	}
	defer p.Stop(30 * time.Second)
	if err := waitFirstCycle(ctx, p, 10*time.Minute); err != nil {
		return err
	}
	b.trackImages(p.Events())
	var (
		toSync  = b.res.add(sc, "save → sync done (file written in the container)", "ms", le(300, "≤ 300ms"))
		syncDur = b.res.add(sc, "sync phase", "ms", nil)
		seen    = b.res.add(sc, "save → seen by kubectl exec cat (poll, upper bound)", "ms", nil)
		builds  = b.res.add(sc, "builds", "count", le(0, "0"))
	)
	n := b.reps(10, 5)
	target := filepath.Join(dir, "app", "static", "index.html")
	for i := 0; i < n; i++ {
		from := p.Len()
		want := fmt.Sprintf("sync-%s-%d-%d", b.id, i, time.Now().UnixNano()%1e6)
		save, err := writeFile(target, []byte("<p>"+want+"</p>\n"))
		if err != nil {
			return err
		}
		e, _, err := p.WaitFor(ctx, from, time.Minute, func(e Event) bool {
			return e.Phase == "sync" && (e.Status == "done" || e.Status == "failed")
		})
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		if e.Status != "done" {
			return fmt.Errorf("edit %d: sync failed: %s", i, e.Message)
		}
		toSync.Samples = append(toSync.Samples, ms(e.Time.Sub(save)))
		syncDur.Samples = append(syncDur.Samples, float64(e.DurationMs))
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, out, err := b.cmd(ctx, "", "kubectl", "exec", "-n", ns, "deploy/synced", "--", "cat", "/app/static/index.html")
			if err == nil && strings.Contains(out, want) {
				seen.Samples = append(seen.Samples, ms(time.Since(save)))
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("edit %d: %q not in the container after 30s (last: %v %q)", i, want, err, tail(out, 300))
			}
		}
		time.Sleep(300 * time.Millisecond)
		builds.Samples = append(builds.Samples, float64(countBuilds(p.Events()[from:])))
	}
	b.samples["sync.events"] = p.Events()
	return nil
}
