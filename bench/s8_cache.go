package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// cacheScenario is scenario 8: a registry cache shared across people
// (build.artifacts[].cacheFrom/cacheTo). The same inputs (examples/notes
// web) are built from a clean builder (its whole local cache pruned before
// every build, as on a colleague's machine or a fresh CI runner) with and
// without `cacheFrom: type=registry`, on the same builder: the environment's
// remote BuildKit over TLS ($DEVLOOP_BUILDER_TLS, a builder of its own so
// that pruning it disturbs nothing else). Every build pushes a new image
// name, so devloop never skips one as already in the registry; the first
// cached build (seeding the cache, as the first person would) is not counted.
func (b *Bench) cacheScenario(ctx context.Context) error {
	const sc = "cache"
	builder, registry := os.Getenv("DEVLOOP_BUILDER_TLS"), os.Getenv("DEVLOOP_REGISTRY")
	if builder == "" || registry == "" {
		return fmt.Errorf("DEVLOOP_BUILDER_TLS or DEVLOOP_REGISTRY is not set (hack/env/builders.sh makes the builder)")
	}
	dir, err := b.tempDir("cache")
	if err != nil {
		return err
	}
	if err := copyTree(filepath.Join(b.root, "examples", "notes", "web"), filepath.Join(dir, "web")); err != nil {
		return err
	}
	cacheRef := fmt.Sprintf("%s/bench-cache-%s:buildcache", registry, b.id)
	if err := writeFiles(dir, map[string]string{
		"k8s/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - objects.yaml\n",
		"k8s/objects.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cache\ndata:\n  k: v\n",
	}); err != nil {
		return err
	}
	config := func(image string, cached bool) (string, error) {
		cfg := fmt.Sprintf("apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: bench-cache-%s\n"+
			"registry: %s\nbuild:\n  builder: %s\n  artifacts:\n    - image: %s\n      context: web\n", b.id, registry, builder, image)
		if cached {
			cfg += fmt.Sprintf("      cacheFrom: [\"type=registry,ref=%s\"]\n      cacheTo: [\"type=registry,ref=%s,mode=max\"]\n", cacheRef, cacheRef)
		}
		cfg += "deploy:\n  kustomize:\n    path: k8s\n"
		name := image + ".yaml"
		_, err := writeFile(filepath.Join(dir, name), []byte(cfg))
		return name, err
	}
	// build prunes the builder, then runs `devloop build` and returns the
	// build phase's duration.
	build := func(image string, cached bool) (float64, error) {
		if _, out, err := b.cmd(ctx, "", "docker", "buildx", "prune", "--builder", builder, "--all", "--force"); err != nil {
			return 0, fmt.Errorf("pruning %s: %w: %s", builder, err, tail(out, 1024))
		}
		cfg, err := config(image, cached)
		if err != nil {
			return 0, err
		}
		pr, err := b.startDevloop(dir, append([]string{"build", "-f", cfg}, b.profileArgs(sc)...)...)
		if err != nil {
			return 0, err
		}
		rctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		if err := pr.Wait(rctx); err != nil {
			return 0, fmt.Errorf("devloop build (%s): %w: %s", image, err, tail(pr.Stderr(), 4096))
		}
		return phaseSum(pr.Events(), "build"), nil
	}
	var (
		plain  = b.res.add(sc, "clean build of examples/notes web + push, no cache (builder pruned)", "ms", nil)
		cached = b.res.add(sc, "clean build of the same inputs + push, cacheFrom/cacheTo type=registry (builder pruned)", "ms", nil)
		ratio  = b.res.add(sc, "cached / uncached", "x", nil)
	)
	if _, err := build(fmt.Sprintf("bench-cache-seed-%s", b.id), true); err != nil {
		return err
	}
	// Three pairs even in a full run: an uncached build from a pruned
	// builder takes minutes here, and the ratio is two orders of magnitude.
	n := b.reps(3, 2)
	for i := 0; i < n; i++ {
		p, err := build(fmt.Sprintf("bench-cache-plain-%s-%d", b.id, i), false)
		if err != nil {
			return err
		}
		c, err := build(fmt.Sprintf("bench-cache-cached-%s-%d", b.id, i), true)
		if err != nil {
			return err
		}
		plain.Samples = append(plain.Samples, p)
		cached.Samples = append(cached.Samples, c)
		ratio.Samples = append(ratio.Samples, c/p)
	}
	return nil
}
