package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// notesScenarios runs scenarios 1-3 on one private copy of examples/notes:
// change to ready and no-op edits under one `devloop dev`, then warm
// `devloop run`s against what it left deployed, then the raw baselines.
func (b *Bench) notesScenarios(ctx context.Context) error {
	f, err := b.newNotes()
	if err != nil {
		return err
	}
	args := append([]string{"dev", "-n", f.ns, "--cleanup=false", "--quiet-period", "80ms"}, b.profileArgs("change")...)
	p, err := b.startDevloop(f.dir, args...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := waitFirstCycle(ctx, p, 15*time.Minute); err != nil {
		p.Stop(30 * time.Second)
		return err
	}
	if _, err := f.waitVersion(ctx, "v1", 2*time.Minute); err != nil {
		p.Stop(30 * time.Second)
		return fmt.Errorf("first deploy: %w", err)
	}
	b.res.add("change", "first deploy (cold dev start → page served)", "ms", nil).Samples = []float64{ms(time.Since(t0))}

	changeErr := b.changeToReady(ctx, f, p)
	if changeErr != nil {
		b.res.errorf("change", "%v", changeErr)
	}
	if err := b.noopEdits(ctx, f, p); err != nil {
		b.res.errorf("noop", "%v", err)
	}
	p.Stop(30 * time.Second)
	b.samples["change.devloopEvents"] = p.Events()

	if err := b.warmStart(ctx, f); err != nil {
		b.res.errorf("warm", "%v", err)
	}
	if err := b.buildBaseline(ctx, f); err != nil {
		b.res.errorf("change", "baseline: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if _, out, err := b.cmd(dctx, f.dir, b.devloop, "delete", "--data"); err != nil {
		b.res.errorf("change", "devloop delete: %v: %s", err, tail(out, 500))
	}
	return nil
}

// changeToReady is scenario 1: edit web/version.go, wait until the new
// version answers through devloop's port-forward, split by phase.
func (b *Bench) changeToReady(ctx context.Context, f *notesFixture, p *Proc) error {
	const sc = "change"
	var (
		total    = b.res.add(sc, "save → new version served", "ms", nil)
		detect   = b.res.add(sc, "detect (save → cycle start)", "ms", le(150, "≤ 150ms"))
		hash     = b.res.add(sc, "hash", "ms", nil)
		build    = b.res.add(sc, "build", "ms", nil)
		deliver  = b.res.add(sc, "deliver", "ms", nil)
		render   = b.res.add(sc, "render", "ms", nil)
		apply    = b.res.add(sc, "apply", "ms", nil)
		status   = b.res.add(sc, "status (ready)", "ms", nil)
		cycleEnd = b.res.add(sc, "save → cycle done", "ms", nil)
		served   = b.res.add(sc, "cycle done → served (port-forward)", "ms", nil)
		overhead = b.res.add(sc, "overhead = total − build − deliver − ready", "ms", le(100, "≤ 100ms"))
	)
	type sample struct {
		Version string  `json:"version"`
		Save    string  `json:"save"`
		TotalMs float64 `json:"totalMs"`
		Events  []Event `json:"events"`
	}
	var raw []sample
	defer func() { b.samples["change.samples"] = raw }()
	n := b.reps(7, 3)
	for i := 0; i < n; i++ {
		from := p.Len()
		v := fmt.Sprintf("bench-%s-%d-%d", b.id, i, time.Now().UnixNano()%1e6)
		save, err := f.setVersion(v)
		if err != nil {
			return err
		}
		ready, err := f.waitVersion(ctx, v, 5*time.Minute)
		if err != nil {
			return fmt.Errorf("edit %d: %w", i, err)
		}
		start, si, err := p.WaitFor(ctx, from, time.Minute, func(e Event) bool { return e.Phase == "cycle" && e.Status == "start" })
		if err != nil {
			return fmt.Errorf("edit %d: cycle start: %w", i, err)
		}
		end, ei, err := p.WaitFor(ctx, si, 5*time.Minute, isCycleEnd(start.Cycle))
		if err != nil {
			return fmt.Errorf("edit %d: cycle end: %w", i, err)
		}
		if end.Status != "done" {
			return fmt.Errorf("edit %d: cycle %d %s: %s", i, end.Cycle, end.Status, end.Message)
		}
		evs := p.Events()[si : ei+1]
		tot := ms(ready.Sub(save))
		total.Samples = append(total.Samples, tot)
		detect.Samples = append(detect.Samples, ms(start.Time.Sub(save)))
		hash.Samples = append(hash.Samples, phaseSum(evs, "hash"))
		build.Samples = append(build.Samples, phaseSum(evs, "build"))
		deliver.Samples = append(deliver.Samples, phaseSum(evs, "deliver"))
		render.Samples = append(render.Samples, phaseSum(evs, "render"))
		apply.Samples = append(apply.Samples, phaseSum(evs, "apply"))
		status.Samples = append(status.Samples, phaseSum(evs, "status"))
		cycleEnd.Samples = append(cycleEnd.Samples, ms(end.Time.Sub(save)))
		served.Samples = append(served.Samples, ms(ready.Sub(end.Time)))
		overhead.Samples = append(overhead.Samples, tot-phaseSum(evs, "build")-phaseSum(evs, "deliver")-phaseSum(evs, "status"))
		raw = append(raw, sample{Version: v, Save: save.Format(time.RFC3339Nano), TotalMs: tot, Events: evs})
		fmt.Fprintf(os.Stderr, "    edit %d: %s to served (cycle %dms)\n", i, time.Duration(tot*1e6).Round(time.Millisecond), end.DurationMs)
		time.Sleep(time.Second)
	}
	return nil
}

// buildBaseline is the work itself: the raw `docker buildx build --load` of
// the same kind of edit and the raw import into the cluster's containerd.
func (b *Bench) buildBaseline(ctx context.Context, f *notesFixture) error {
	const sc = "change"
	var (
		bx   = b.res.add(sc, "baseline: docker buildx build --load", "ms", nil)
		save = b.res.add(sc, "baseline: docker save", "ms", nil)
		imp  = b.res.add(sc, "baseline: ctr images import", "ms", nil)
	)
	sock := os.Getenv("DEVLOOP_CONTAINERD_SOCK")
	tar := filepath.Join(f.dir, "baseline.tar")
	n := b.reps(5, 2)
	for i := 0; i < n; i++ {
		if _, err := f.setVersion(fmt.Sprintf("baseline-%s-%d-%d", b.id, i, time.Now().UnixNano()%1e6)); err != nil {
			return err
		}
		ref := fmt.Sprintf("bench-baseline-web-%s:%d", b.id, i)
		b.image(ref)
		d, _, err := b.cmd(ctx, f.dir, "docker", "buildx", "build", "--load", "-t", ref, "web")
		if err != nil {
			return err
		}
		bx.Samples = append(bx.Samples, ms(d))
		if sock == "" {
			continue
		}
		d, _, err = b.cmd(ctx, f.dir, "docker", "save", "-o", tar, ref)
		if err != nil {
			return err
		}
		save.Samples = append(save.Samples, ms(d))
		d, _, err = b.cmd(ctx, f.dir, "ctr", "-a", sock, "-n", "k8s.io", "images", "import", tar)
		if err != nil {
			return err
		}
		imp.Samples = append(imp.Samples, ms(d))
		_ = os.Remove(tar)
	}
	if sock == "" {
		b.res.errorf(sc, "DEVLOOP_CONTAINERD_SOCK is not set: no ctr import baseline")
	}
	return nil
}
