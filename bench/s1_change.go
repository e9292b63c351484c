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
	startVersion := "bench-start-" + b.id
	if _, err := f.setVersion(startVersion); err != nil {
		return err
	}
	args := append([]string{"dev", "-n", f.ns, "--cleanup=false", "--quiet-period", quietPeriod.String()}, b.profileArgs("change")...)
	p, err := b.startDevloop(f.dir, args...)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := waitFirstCycle(ctx, p, 15*time.Minute); err != nil {
		p.Stop(30 * time.Second)
		return err
	}
	if _, err := f.waitVersion(ctx, startVersion, 5*time.Minute); err != nil {
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
		// The headline, against the raw work measured in the same run
		// (never against devloop's own phase durations): how much longer
		// than a plain `docker buildx build --load` of the same edit the
		// user waits for the new version to be served.
		added = b.res.add(sc, "added wait = (save → served) − raw docker buildx build --load of the same edit", "ms", le(1000, "≤ 1.0 s"))
	)
	type sample struct {
		Version string  `json:"version"`
		Save    string  `json:"save"`
		TotalMs float64 `json:"totalMs"`
		Events  []Event `json:"events"`
	}
	var raw []sample
	defer func() { b.samples["change.samples"] = raw }()
	bl, err := b.newBaseline(f)
	if err != nil {
		return err
	}
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
		raw = append(raw, sample{Version: v, Save: save.Format(time.RFC3339Nano), TotalMs: tot, Events: evs})
		b.chartRows = append(b.chartRows, chartRow{fmt.Sprintf("edit %d", i+1), cycleBreakdown(save, ready, evs)})
		fmt.Fprintf(os.Stderr, "    edit %d: %s to served (cycle %dms)\n", i, time.Duration(tot*1e6).Round(time.Millisecond), end.DurationMs)
		if err := b.baselineRep(ctx, bl, i); err != nil {
			b.res.errorf("change", "baseline %d: %v", i, err)
		} else if n := len(bl.bx.Samples); n > 0 {
			added.Samples = append(added.Samples, tot-bl.bx.Samples[n-1])
		}
		time.Sleep(time.Second)
	}
	return nil
}

// baseline is the work itself, measured right after each devloop edit
// under the same load: the raw `docker buildx build --load` of the same
// kind of edit in a separate copy of web/, `docker save` and the raw
// `ctr images import` into the cluster's containerd.
type baseline struct {
	dir            string
	bx, save, imp  *Metric
	containerdSock string
}

func (b *Bench) newBaseline(f *notesFixture) (*baseline, error) {
	dir, err := b.tempDir("baseline")
	if err != nil {
		return nil, err
	}
	if err := copyTree(filepath.Join(f.dir, "web"), dir); err != nil {
		return nil, fmt.Errorf("copying web: %w", err)
	}
	const sc = "change"
	bl := &baseline{
		dir:            dir,
		bx:             b.res.add(sc, "baseline: docker buildx build --load", "ms", nil),
		save:           b.res.add(sc, "baseline: docker save", "ms", nil),
		imp:            b.res.add(sc, "baseline: ctr images import", "ms", nil),
		containerdSock: os.Getenv("DEVLOOP_CONTAINERD_SOCK"),
	}
	if bl.containerdSock == "" {
		b.res.errorf(sc, "DEVLOOP_CONTAINERD_SOCK is not set: no ctr import baseline")
	}
	return bl, nil
}

func (b *Bench) baselineRep(ctx context.Context, bl *baseline, i int) error {
	v := fmt.Sprintf("baseline-%s-%d-%d", b.id, i, time.Now().UnixNano()%1e6)
	src := fmt.Sprintf("package main\n\nconst Version = %q\n", v)
	if _, err := writeFile(filepath.Join(bl.dir, "version.go"), []byte(src)); err != nil {
		return err
	}
	ref := fmt.Sprintf("bench-baseline-web-%s:%d", b.id, i)
	b.image(ref)
	d, _, err := b.cmd(ctx, bl.dir, "docker", "buildx", "build", "--load", "-t", ref, ".")
	if err != nil {
		return err
	}
	bl.bx.Samples = append(bl.bx.Samples, ms(d))
	if bl.containerdSock == "" {
		return nil
	}
	tar := bl.dir + ".tar"
	defer os.Remove(tar)
	d, _, err = b.cmd(ctx, "", "docker", "save", "-o", tar, ref)
	if err != nil {
		return err
	}
	bl.save.Samples = append(bl.save.Samples, ms(d))
	d, _, err = b.cmd(ctx, "", "ctr", "-a", bl.containerdSock, "-n", "k8s.io", "images", "import", tar)
	if err != nil {
		return err
	}
	bl.imp.Samples = append(bl.imp.Samples, ms(d))
	return nil
}
