package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// idleScenario is scenario 4: `devloop dev` watching a build context of
// 100,000 files in 5,000 directories, idle, then one edit in that tree. The
// files are part of the context (not ignored), so the watcher and the hash
// see them all; the Dockerfile copies only a marker file, which keeps the
// build itself trivial (BuildKit transfers only what COPY names).
func (b *Bench) idleScenario(ctx context.Context) error {
	const sc = "idle"
	dir, err := b.tempDir("idle")
	if err != nil {
		return err
	}
	bulk := filepath.Join(dir, "bulk")
	const dirs, perDir = 5000, 20
	t0 := time.Now()
	if err := genTree(bulk, dirs, perDir); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "    generated %d files in %s\n", dirs*perDir, time.Since(t0).Round(time.Millisecond))
	ns := b.namespace("idle")
	img := "bench-idle-" + b.id
	files := idleFiles(b.id, ns, img)
	if err := writeFiles(dir, files); err != nil {
		return err
	}
	// Baseline in the same run: the same project with a two-file context.
	if err := b.idleBaseline(ctx); err != nil {
		b.res.errorf(sc, "small-project baseline: %v", err)
	}
	args := append([]string{"dev", "-n", ns, "--quiet-period", quietPeriod.String()}, b.profileArgs(sc)...)
	addr, err := pprofAddr()
	if err != nil {
		return err
	}
	if b.profile {
		args = append(args, "--pprof-addr", addr)
	}
	p, err := b.startDevloop(dir, args...)
	if err != nil {
		return err
	}
	defer p.Stop(30 * time.Second)
	start := time.Now()
	if err := waitFirstCycle(ctx, p, 10*time.Minute); err != nil {
		return err
	}
	b.trackImages(p.Events())
	b.res.add(sc, "dev start → first cycle done (100k files)", "ms", nil).Samples = []float64{ms(time.Since(start))}
	// Let the first cycle's aftermath (log streams, forwards) settle.
	time.Sleep(2 * time.Second)
	idle := 60 * time.Second
	if b.quick {
		idle = 15 * time.Second
	}
	// The dashboard open in a browser: its event stream held, and the
	// resource table read every 2 s as the page does.
	pageCtx, closePage := context.WithCancel(ctx)
	defer closePage()
	if ui, ok := findEvent(p.Events(), "ui"); ok {
		go watchDashboard(pageCtx, ui.URL)
	} else {
		b.res.errorf(sc, "no ui event: the idle CPU is measured without the dashboard open")
	}
	from := p.Len()
	idlePct, err := idleCPU(p.Pid(), idle)
	if err != nil {
		return err
	}
	closePage()
	mem, err := readMemory(p.Pid())
	if err != nil {
		return err
	}
	if b.profile {
		if err := saveHeapProfile(ctx, addr, b.heapProfilePath(sc)); err != nil {
			b.res.errorf(sc, "%v", err)
		}
	}
	b.res.add(sc, fmt.Sprintf("idle CPU over %s, dashboard open (%% of one core)", idle), "%", le(1, "≤ 1%")).Samples = []float64{idlePct}
	b.res.add(sc, "idle: events emitted", "count", nil).Samples = []float64{float64(p.Len() - from)}
	b.res.add(sc, "peak RSS (VmHWM, whole run)", "MB", le(100, "≤ 100MB")).Samples = []float64{mem.hwm}
	b.res.add(sc, "RSS after idle (VmRSS)", "MB", nil).Samples = []float64{mem.rss}
	b.res.add(sc, "RSS after idle: anonymous (heap, stacks)", "MB", nil).Samples = []float64{mem.anon}
	b.res.add(sc, "RSS after idle: file-backed (the binary's pages)", "MB", nil).Samples = []float64{mem.file}
	if b.idleSmall != nil {
		b.res.add(sc, "RSS the 100k-file tree adds (VmRSS − small project's)", "MB", nil).Samples = []float64{mem.rss - b.idleSmall.rss}
	}

	var (
		detect = b.res.add(sc, "edit in the tree: save → cycle start", "ms", le(150, "≤ 150ms"))
		cycle  = b.res.add(sc, "edit in the tree: cycle duration", "ms", nil)
		hash   = b.res.add(sc, "edit in the tree: hash", "ms", nil)
		cpu    = b.res.add(sc, "edit in the tree: CPU used (save → cycle done)", "ms", nil)
	)
	n := b.reps(3, 1)
	for i := 0; i < n; i++ {
		from := p.Len()
		c0, _ := cpuSeconds(p.Pid())
		save, err := writeFile(filepath.Join(bulk, fmt.Sprintf("d%04d", (i*977)%dirs), "f07.txt"), []byte(fmt.Sprintf("edit %d %d\n", i, time.Now().UnixNano())))
		if err != nil {
			return err
		}
		st, si, err := p.WaitFor(ctx, from, time.Minute, func(e Event) bool { return e.Phase == "cycle" && e.Status == "start" })
		if err != nil {
			return fmt.Errorf("edit %d: cycle start: %w", i, err)
		}
		end, ei, err := p.WaitFor(ctx, si, 5*time.Minute, isCycleEnd(st.Cycle))
		if err != nil {
			return fmt.Errorf("edit %d: cycle end: %w", i, err)
		}
		c1, _ := cpuSeconds(p.Pid())
		evs := p.Events()[si : ei+1]
		b.trackImages(evs)
		detect.Samples = append(detect.Samples, ms(st.Time.Sub(save)))
		cycle.Samples = append(cycle.Samples, float64(end.DurationMs))
		hash.Samples = append(hash.Samples, phaseSum(evs, "hash"))
		cpu.Samples = append(cpu.Samples, 1000*(c1-c0))
		if end.Status != "done" {
			b.res.errorf(sc, "edit %d: cycle %s: %s", i, end.Status, end.Message)
		}
		time.Sleep(time.Second)
	}
	b.samples["idle.events"] = p.Events()
	return nil
}

// idleFiles is the idle scenario's project: a context "bulk" (the tree is
// generated into it), a Namespace and a ConfigMap naming the image.
func idleFiles(id, ns, img string) map[string]string {
	return map[string]string{
		"bulk/Dockerfile": "FROM scratch\nCOPY marker /marker\n",
		"bulk/marker":     "marker\n",
		"devloop.yaml": fmt.Sprintf(`apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  name: bench-idle-%s
build:
  artifacts:
    - image: %s
      context: bulk
deploy:
  kustomize:
    path: k8s
`, id, img),
		"k8s/kustomization.yaml": fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: %s\nresources:\n  - objects.yaml\n", ns),
		"k8s/objects.yaml": fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: idle
data:
  image: %s
`, ns, img),
	}
}

// memory is a process's memory in MB.
type memory struct{ hwm, rss, anon, file float64 }

func readMemory(pid int) (memory, error) {
	var m memory
	for _, f := range []struct {
		name string
		dst  *float64
	}{{"VmHWM", &m.hwm}, {"VmRSS", &m.rss}, {"RssAnon", &m.anon}, {"RssFile", &m.file}} {
		kb, err := procStatusKB(pid, f.name)
		if err != nil {
			return m, err
		}
		*f.dst = kb / 1024
	}
	return m, nil
}

// idleBaseline runs `devloop dev` on the same project with a context of two
// files, idle for a few seconds, and records its memory: what devloop costs
// before any tree.
func (b *Bench) idleBaseline(ctx context.Context) error {
	const sc = "idle"
	dir, err := b.tempDir("idle-small")
	if err != nil {
		return err
	}
	ns := b.namespace("idle-small")
	small := idleFiles(b.id+"-small", ns, "bench-idle-small-"+b.id)
	if err := writeFiles(dir, small); err != nil {
		return err
	}
	p, err := b.startDevloop(dir, "dev", "-n", ns, "--quiet-period", quietPeriod.String())
	if err != nil {
		return err
	}
	defer p.Stop(30 * time.Second)
	if err := waitFirstCycle(ctx, p, 10*time.Minute); err != nil {
		return err
	}
	b.trackImages(p.Events())
	time.Sleep(5 * time.Second)
	m, err := readMemory(p.Pid())
	if err != nil {
		return err
	}
	b.idleSmall = &m
	b.res.add(sc, "baseline: small project (2-file context), peak RSS", "MB", nil).Samples = []float64{m.hwm}
	b.res.add(sc, "baseline: small project, RSS anonymous", "MB", nil).Samples = []float64{m.anon}
	b.res.add(sc, "baseline: small project, RSS file-backed", "MB", nil).Samples = []float64{m.file}
	return nil
}

// genTree writes dirs directories of perDir small files each.
func genTree(root string, dirs, perDir int) error {
	for d := 0; d < dirs; d++ {
		dd := filepath.Join(root, fmt.Sprintf("d%04d", d))
		if err := os.MkdirAll(dd, 0o755); err != nil {
			return fmt.Errorf("generating the tree: %w", err)
		}
		for f := 0; f < perDir; f++ {
			if err := os.WriteFile(filepath.Join(dd, fmt.Sprintf("f%02d.txt", f)), []byte(fmt.Sprintf("%d/%d\n", d, f)), 0o644); err != nil {
				return fmt.Errorf("generating the tree: %w", err)
			}
		}
	}
	return nil
}

// writeFiles writes relative path → content under dir.
func writeFiles(dir string, files map[string]string) error {
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}
	}
	return nil
}

// trackImages records the images devloop built so the run removes them.
func (b *Bench) trackImages(evs []Event) {
	for _, e := range evs {
		if e.Phase == "build" && e.Status == "done" && e.Image != "" {
			b.image(e.Image)
		}
	}
}

// findEvent is the first event of a phase with a URL.
func findEvent(evs []Event, phase string) (Event, bool) {
	for _, e := range evs {
		if e.Phase == phase && e.URL != "" {
			return e, true
		}
	}
	return Event{}, false
}

// watchDashboard does what an open dashboard page does until ctx ends: it
// holds the event stream and reads the resources every 2 s.
func watchDashboard(ctx context.Context, url string) {
	url = strings.TrimRight(url, "/")
	go func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/stream", nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
	}()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/resources", nil)
			if err != nil {
				return
			}
			if resp, err := http.DefaultClient.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}
	}
}
