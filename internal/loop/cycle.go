package loop

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"sort"
	"strings"

	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/pipeline"
	"github.com/devloop-dev/devloop/internal/plan"
	"github.com/devloop-dev/devloop/internal/watch"
)

// cycleResult is how a cycle ended.
type cycleResult struct {
	result   pipeline.Result
	err      error
	canceled bool
	reloaded *config.Config // set when the config was reloaded
}

// decide turns a change set into work with the pure plan.Decide.
func (l *Loop) decide(cs watch.ChangeSet) work {
	cfg := l.runner.Config()
	pcs := plan.ChangeSet{Rescan: cs.Rescan}
	paths := make([]string, 0, len(cs.Paths))
	for _, c := range cs.Paths {
		pcs.Changes = append(pcs.Changes, plan.Change{Path: c.Path, Removed: c.Removed, Dir: c.Dir})
		paths = append(paths, c.Path)
	}
	// Every changed path goes to the hasher, decided or not: the next hash
	// patches the last one with exactly these.
	l.runner.NoteChanges(paths, cs.Rescan)
	if l.layout == nil {
		lay := layoutOf(cfg)
		l.layout = &lay
	}
	p := plan.Decide(*l.layout, pcs)
	if p.ReloadConfig || len(p.ManifestChanges) > 0 || reloadsIgnore(p) {
		l.layout = nil // recomputed from the files on the next change
	}
	if p.ReloadConfig || len(p.ManifestChanges) > 0 || p.Rescan {
		l.runner.ForgetRender()
	}
	w := work{rebuild: map[string]bool{}, changes: relPaths(cfg.Dir, cs)}
	switch {
	case p.ReloadConfig:
		w.reload = true
	default:
		for _, a := range p.Artifacts {
			switch a.Action {
			case plan.Rebuild:
				w.rebuild[a.Image] = true
			case plan.Sync:
				w.syncs = append(w.syncs, a)
			}
		}
		w.redeploy = p.Redeploy
	}
	if w.empty() {
		l.sink.Emit(events.Event{Phase: events.PhaseCycle, Status: events.StatusSkipped, Changes: w.changes,
			Message: "nothing to do: " + plan.Summary(p)})
	}
	return w
}

func reloadsIgnore(p plan.Plan) bool {
	for _, a := range p.Artifacts {
		if a.ReloadIgnore {
			return true
		}
	}
	return false
}

// runCycle carries out one batch of work.
func (l *Loop) runCycle(ctx context.Context, n int, w work) (res cycleResult) {
	if l.opts.Summary != nil {
		l.opts.Summary.Reset()
	}
	t := events.Start(l.sink, events.Event{Phase: events.PhaseCycle, Cycle: n, Changes: w.changes})
	defer func() {
		switch {
		case res.canceled:
			t.Skip("superseded by a newer change", func(e *events.Event) { e.Cycle = n })
		case res.err != nil:
			t.Fail(res.err, func(e *events.Event) { e.Cycle = n })
		default:
			t.Done(l.report(w, res.result), func(e *events.Event) { e.Cycle = n })
		}
	}()
	res.err = l.carryOut(ctx, w, &res)
	if res.err != nil && ctx.Err() != nil {
		res.canceled = true
	}
	return res
}

func (l *Loop) carryOut(ctx context.Context, w work, res *cycleResult) error {
	if w.reload {
		cfg, err := l.opts.Load()
		if err != nil {
			l.sink.Emit(events.Event{Phase: events.PhaseConfig, Status: events.StatusFailed,
				Message: "devloop.yaml is invalid; keeping the previous configuration: " + err.Error()})
		} else {
			l.runner.SetConfig(cfg)
			res.reloaded = cfg
			w.all, w.redeploy = true, true
			l.sink.Emit(events.Event{Phase: events.PhaseConfig, Status: events.StatusDone, Message: "reloaded devloop.yaml"})
		}
	}
	for _, s := range w.syncs {
		if w.all || w.rebuild[s.Image] {
			continue // the rebuild carries the change
		}
		if err := l.runner.Sync(ctx, s); err != nil {
			return err
		}
	}
	if w.all && w.redeploy {
		// A full pass (the first, or after a reload): a broken overlay is
		// reported before the builds.
		if err := l.runner.CheckManifests(ctx); err != nil {
			return err
		}
	}
	if w.all || len(w.rebuild) > 0 {
		var only []string
		if !w.all {
			for img := range w.rebuild {
				only = append(only, img)
			}
		}
		if _, err := l.runner.BuildAll(ctx, only, &res.result); err != nil {
			return err
		}
	}
	// Compared with what the last successful deploy applied, so a deploy
	// that failed after its images were delivered is redone.
	after := l.runner.Images()
	if !w.redeploy && maps.Equal(l.deployed, after) {
		return nil // rehashed, and nothing moved
	}
	res.result.Images = after
	if err := l.runner.Deploy(ctx, after, &res.result); err != nil {
		return err
	}
	l.deployed = after
	return nil
}

// report is the one-line summary of a finished cycle.
func (l *Loop) report(w work, r pipeline.Result) string {
	var parts []string
	if len(r.Built) > 0 {
		parts = append(parts, "rebuilt "+strings.Join(r.Built, ", "))
	}
	for _, s := range w.syncs {
		parts = append(parts, "synced "+s.Image)
	}
	if len(r.Objects) > 0 {
		parts = append(parts, fmt.Sprintf("applied (%d written, %d unchanged)", r.Apply.Writes, r.Apply.Unchanged()))
	}
	if len(r.Pruned) > 0 {
		parts = append(parts, fmt.Sprintf("pruned %d", len(r.Pruned)))
	}
	if len(parts) == 0 {
		parts = append(parts, "no change to deploy")
	}
	msg := strings.Join(parts, "; ")
	if l.opts.Summary != nil {
		if s := l.opts.Summary.Summary(); s != "" {
			msg += " — " + s
		}
	}
	if l.opts.URLs != nil {
		if urls := l.opts.URLs(); len(urls) > 0 {
			msg += " → " + strings.Join(urls, " ")
		}
	}
	return msg
}

// layoutOf describes what the loop watches for plan.Decide.
func layoutOf(cfg *config.Config) plan.Layout {
	l := plan.Layout{ConfigFile: cfg.File, ManifestDirs: manifestDirs(cfg)}
	for _, a := range cfg.Build.Artifacts {
		pa := plan.Artifact{Image: a.Image, Context: a.ContextDir, Dockerfile: a.DockerfilePath}
		if bc, err := buildcontext.Load(a.ContextDir, a.DockerfilePath); err == nil {
			pa.Excluded = bc.Excluded
		}
		for _, r := range a.Sync {
			pa.Sync = append(pa.Sync, plan.SyncRule{Src: r.Src, Dest: r.Dest, Target: r.Target})
		}
		l.Artifacts = append(l.Artifacts, pa)
	}
	return l
}

func relPaths(base string, cs watch.ChangeSet) []string {
	out := make([]string, 0, len(cs.Paths))
	for _, c := range cs.Paths {
		if rel, err := filepath.Rel(base, c.Path); err == nil {
			out = append(out, filepath.ToSlash(rel))
		} else {
			out = append(out, c.Path)
		}
	}
	sort.Strings(out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("(+%d more)", len(out)-20))
	}
	return out
}
