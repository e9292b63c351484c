package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// warmStart is scenario 3: `devloop run` with everything deployed and
// cached, against the API round trips it cannot avoid.
func (b *Bench) warmStart(ctx context.Context, f *notesFixture) error {
	const sc = "warm"
	var (
		readyz  = b.res.add(sc, "baseline: kubectl get --raw /readyz", "ms", nil)
		dryRun  = b.res.add(sc, "baseline: kubectl apply --server-side --dry-run=server", "ms", nil)
		wall    = b.res.add(sc, "devloop run wall time", "ms", nil)
		runEv   = b.res.add(sc, "devloop run: run event", "ms", nil)
		hash    = b.res.add(sc, "devloop run: hash", "ms", nil)
		apply   = b.res.add(sc, "devloop run: apply", "ms", nil)
		status  = b.res.add(sc, "devloop run: status", "ms", nil)
		builds  = b.res.add(sc, "devloop run: builds", "count", le(0, "0"))
		writesM = b.res.add(sc, "devloop run: API writes", "count", le(0, "0"))
	)
	n := b.reps(5, 3)
	rendered := filepath.Join(f.dir, "rendered.yaml")
	{
		c := exec.CommandContext(ctx, b.devloop, "render", "-n", f.ns, "--show-secrets")
		c.Dir = f.dir
		out, err := c.Output()
		if err != nil {
			return fmt.Errorf("devloop render: %w", err)
		}
		if err := os.WriteFile(rendered, out, 0o644); err != nil {
			return fmt.Errorf("writing rendered manifests: %w", err)
		}
	}
	for i := 0; i < n; i++ {
		d, _, err := b.cmd(ctx, "", "kubectl", "get", "--raw", "/readyz")
		if err != nil {
			return err
		}
		readyz.Samples = append(readyz.Samples, ms(d))
		d, _, err = b.cmd(ctx, "", "kubectl", "apply", "--server-side", "--force-conflicts", "--field-manager", "bench-dry-run", "--dry-run=server", "-f", rendered)
		if err != nil {
			return err
		}
		dryRun.Samples = append(dryRun.Samples, ms(d))
	}
	var raw [][]Event
	defer func() { b.samples["warm.runs"] = raw }()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		p, err := b.startDevloop(f.dir, append([]string{"run", "-n", f.ns}, b.profileArgs(sc)...)...)
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err = p.Wait(rctx)
		cancel()
		d := time.Since(t0)
		evs := p.Events()
		raw = append(raw, evs)
		if err != nil {
			return fmt.Errorf("devloop run: %w: %s", err, tail(p.Stderr(), 4096))
		}
		wall.Samples = append(wall.Samples, ms(d))
		runEv.Samples = append(runEv.Samples, phaseSum(evs, "run"))
		hash.Samples = append(hash.Samples, phaseSum(evs, "hash"))
		apply.Samples = append(apply.Samples, phaseSum(evs, "apply"))
		status.Samples = append(status.Samples, phaseSum(evs, "status"))
		builds.Samples = append(builds.Samples, float64(countBuilds(evs)))
		writesM.Samples = append(writesM.Samples, float64(writes(evs)))
	}
	// The target: 1 s plus the round trips of one server-side apply of the
	// same manifests (kubectl's dry run, process start included).
	dryRun.finish()
	limit := 1000 + dryRun.Median
	wall.Target = le(limit, fmt.Sprintf("≤ 1s + dry-run (%.0fms)", limit))
	return nil
}
