package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// applyScenario is scenario 5: a 500-object overlay applied by `devloop run`
// (no artifacts) from scratch and unchanged, against `kubectl apply
// --server-side -k` of the same overlay in another namespace.
func (b *Bench) applyScenario(ctx context.Context) error {
	const sc = "apply"
	dir, err := b.tempDir("apply")
	if err != nil {
		return err
	}
	if err := writeFiles(dir, map[string]string{
		"base/objects.yaml":       objects500(),
		"base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - objects.yaml\n",
	}); err != nil {
		return err
	}
	var (
		dScratch  = b.res.add(sc, "devloop run, from scratch: wall", "ms", nil)
		dScratchA = b.res.add(sc, "devloop run, from scratch: render+apply", "ms", nil)
		dScratchS = b.res.add(sc, "devloop run, from scratch: status", "ms", nil)
		dSame     = b.res.add(sc, "devloop run, unchanged: wall", "ms", nil)
		dSameA    = b.res.add(sc, "devloop run, unchanged: render+apply", "ms", nil)
		dSameW    = b.res.add(sc, "devloop run, unchanged: API writes", "count", le(0, "0"))
		kScratch  = b.res.add(sc, "kubectl apply --server-side -k, from scratch", "ms", nil)
		kSame     = b.res.add(sc, "kubectl apply --server-side -k, unchanged", "ms", nil)
		rScratch  = b.res.add(sc, "ratio devloop/kubectl, from scratch (render+apply)", "x", le(1, "≤ 1.00x"))
		rSame     = b.res.add(sc, "ratio devloop/kubectl, unchanged (render+apply)", "x", le(1, "≤ 1.00x"))
		rScratchW = b.res.add(sc, "ratio devloop/kubectl, from scratch (wall, incl. status wait)", "x", nil)
		rSameW    = b.res.add(sc, "ratio devloop/kubectl, unchanged (wall)", "x", nil)
	)
	var raw [][]Event
	defer func() { b.samples["apply.runs"] = raw }()
	n := b.reps(3, 1)
	for i := 0; i < n; i++ {
		dns, kns := b.namespace(fmt.Sprintf("apply-d%d", i)), b.namespace(fmt.Sprintf("apply-k%d", i))
		ddir, kdir := filepath.Join(dir, fmt.Sprintf("d%d", i)), filepath.Join(dir, fmt.Sprintf("k%d", i))
		if err := writeFiles(ddir, overlayFiles(dns)); err != nil {
			return err
		}
		if err := writeFiles(kdir, overlayFiles(kns)); err != nil {
			return err
		}
		cfg := fmt.Sprintf("apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: bench-apply-%s-%d\ndeploy:\n  kustomize:\n    path: d%d\n  statusTimeout: 5m\n", b.id, i, i)
		cfgFile := filepath.Join(dir, fmt.Sprintf("devloop-%d.yaml", i))
		if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
			return fmt.Errorf("writing config: %w", err)
		}
		var dWall, dApply [2]float64
		for pass := 0; pass < 2; pass++ {
			t0 := time.Now()
			p, err := b.startDevloop(dir, append([]string{"run", "-f", cfgFile}, b.profileArgs(sc)...)...)
			if err != nil {
				return err
			}
			rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
			err = p.Wait(rctx)
			cancel()
			wall := ms(time.Since(t0))
			evs := p.Events()
			raw = append(raw, evs)
			if err != nil {
				return fmt.Errorf("devloop run (pass %d): %w: %s", pass, err, tail(p.Stderr(), 4096))
			}
			ra := phaseSum(evs, "render") + phaseSum(evs, "apply") + phaseSum(evs, "prune")
			dWall[pass], dApply[pass] = wall, ra
			if pass == 0 {
				dScratch.Samples = append(dScratch.Samples, wall)
				dScratchA.Samples = append(dScratchA.Samples, ra)
				dScratchS.Samples = append(dScratchS.Samples, phaseSum(evs, "status"))
			} else {
				dSame.Samples = append(dSame.Samples, wall)
				dSameA.Samples = append(dSameA.Samples, ra)
				dSameW.Samples = append(dSameW.Samples, float64(writes(evs)))
			}
		}
		var kWall [2]float64
		for pass := 0; pass < 2; pass++ {
			d, _, err := b.cmd(ctx, "", "kubectl", "apply", "--server-side", "-k", kdir)
			if err != nil {
				return err
			}
			kWall[pass] = ms(d)
		}
		kScratch.Samples = append(kScratch.Samples, kWall[0])
		kSame.Samples = append(kSame.Samples, kWall[1])
		rScratch.Samples = append(rScratch.Samples, dApply[0]/kWall[0])
		rSame.Samples = append(rSame.Samples, dApply[1]/kWall[1])
		rScratchW.Samples = append(rScratchW.Samples, dWall[0]/kWall[0])
		rSameW.Samples = append(rSameW.Samples, dWall[1]/kWall[1])
		// Delete this repetition's namespaces now, without waiting (the end
		// of the run waits for them).
		_, _, _ = b.cmd(ctx, "", "kubectl", "delete", "namespace", "--wait=false", "--ignore-not-found", dns, kns)
	}
	return nil
}

// overlayFiles is an overlay of the 500-object base in namespace ns.
func overlayFiles(ns string) map[string]string {
	return map[string]string{
		"kustomization.yaml": fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n  - namespace.yaml\n  - ../base\n", ns),
		"namespace.yaml":     fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n", ns),
	}
}

// objects500 is a base of 200 ConfigMaps, 150 Services and 150 Deployments
// with 0 replicas (plus its kustomization).
func objects500() string {
	var s strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&s, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%03d\ndata:\n  key: value-%03d\n  other: \"%d\"\n", i, i, i)
	}
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&s, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-%03d\nspec:\n  selector:\n    app: app-%03d\n  ports:\n    - name: http\n      port: 80\n      targetPort: 8080\n", i, i)
	}
	for i := 0; i < 150; i++ {
		fmt.Fprintf(&s, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%03d
spec:
  replicas: 0
  selector:
    matchLabels:
      app: app-%03d
  template:
    metadata:
      labels:
        app: app-%03d
    spec:
      containers:
        - name: app
          image: bench.invalid/app:%d
          ports:
            - containerPort: 8080
`, i, i, i, i)
	}
	return s.String()
}
