package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kustomize"
	"github.com/devloop-dev/devloop/internal/status"
)

// InputError says the user's configuration or manifests are wrong in a way
// only rendering shows (e.g. a port-forward to a resource the manifests do
// not define). The CLI exits 2 for it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Render renders the overlay and dry-runs the Helm releases with the given
// image references, using the cluster's discovery for the scope of custom
// kinds, and returns every object.
func (r *Runner) Render(ctx context.Context, images map[string]string) ([]*unstructured.Unstructured, error) {
	p, err := r.render(ctx, images)
	if err != nil {
		return nil, err
	}
	return append(append([]*unstructured.Unstructured(nil), p.helmObjects...), p.kustomize...), nil
}

// rendered is what a pass deploys: the overlay's objects and the releases.
type rendered struct {
	kustomize   []*unstructured.Unstructured
	releases    []helmRelease
	helmObjects []*unstructured.Unstructured
}

func (r *Runner) render(ctx context.Context, images map[string]string) (rendered, error) {
	t := events.Start(r.sink, events.Event{Phase: events.PhaseRender})
	var p rendered
	cached := false
	if r.cfg.Deploy.Kustomize.Dir != "" {
		opts := deploy.RenderOptions{
			Path: r.cfg.Deploy.Kustomize.Dir, Images: images, Namespace: r.cfg.Deploy.Namespace,
			ConfigName: r.cfg.Metadata.Name, Scope: deploy.ScopeFromMapper(r.kube.Mapper),
			ImagePullSecrets: r.cfg.Deploy.ImagePullSecrets,
		}
		objs, c, err := r.kustomize(ctx, opts.Path)
		if err == nil {
			if err = deploy.Transform(objs, opts); err != nil {
				err = fmt.Errorf("rendering kustomization %s: %w", opts.Path, err)
			}
		}
		if err != nil {
			t.Fail(err)
			return p, &InputError{Err: err}
		}
		p.kustomize, cached = objs, c
	}
	var err error
	if p.releases, p.helmObjects, err = r.renderHelm(ctx, images); err != nil {
		t.Fail(err)
		return p, err // the chart's message; not a usage error
	}
	all := append(append([]*unstructured.Unstructured(nil), p.helmObjects...), p.kustomize...)
	if err := CheckPortForwards(r.cfg, all); err != nil {
		t.Fail(err)
		return p, err
	}
	r.mu.Lock()
	r.appNamespace = mostCommonNamespace(all)
	r.mu.Unlock()
	from := sources(r.cfg)
	if cached {
		from += " (manifests unchanged: kustomize output reused)"
	}
	t.Done(fmt.Sprintf("%d objects from %s", len(all), from))
	return p, nil
}

// kustomize returns a fresh copy of the kustomize output for path: built,
// or with Options.CacheRender the copy kept since the last ForgetRender.
func (r *Runner) kustomize(ctx context.Context, path string) (objs []*unstructured.Unstructured, cached bool, err error) {
	if !r.opts.CacheRender {
		objs, err = kustomize.Build(ctx, path)
		return objs, false, err
	}
	r.mu.Lock()
	kept, keptPath, gen := r.kustomized, r.kustomizedPath, r.renderGen
	r.mu.Unlock()
	if kept == nil || keptPath != path {
		if kept, err = kustomize.Build(ctx, path); err != nil {
			return nil, false, err
		}
		r.mu.Lock()
		// A manifest that changed while kustomize read the files makes
		// this output stale: used once, never kept.
		if r.renderGen == gen {
			r.kustomized, r.kustomizedPath = kept, path
		}
		r.mu.Unlock()
	} else {
		cached = true
	}
	objs = make([]*unstructured.Unstructured, len(kept))
	for i, u := range kept {
		objs[i] = u.DeepCopy()
	}
	return objs, cached, nil
}

// CheckManifests runs kustomize once before any build, so that a broken
// overlay fails in milliseconds rather than after the builds; with
// Options.CacheRender the output is kept for the deploy.
func (r *Runner) CheckManifests(ctx context.Context) error {
	if r.cfg.Deploy.Kustomize.Dir != "" {
		if _, _, err := r.kustomize(ctx, r.cfg.Deploy.Kustomize.Dir); err != nil {
			r.sink.Emit(events.Event{Phase: events.PhaseRender, Status: events.StatusFailed, Message: err.Error()})
			return &InputError{Err: err}
		}
	}
	// The charts render with the images known so far (an artifact not
	// built yet keeps its name): a chart error shows before any build.
	if _, _, err := r.renderHelm(ctx, r.Images()); err != nil {
		r.sink.Emit(events.Event{Phase: events.PhaseRender, Status: events.StatusFailed, Message: err.Error()})
		return err
	}
	return nil
}

// ForgetRender drops the kept kustomize output: the dev loop calls it when
// a file under the manifests changed (or events were lost).
func (r *Runner) ForgetRender() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kustomized, r.kustomizedPath = nil, ""
	r.renderGen++
}

// Deploy renders, applies, prunes and waits.
func (r *Runner) Deploy(ctx context.Context, images map[string]string, res *Result) error {
	p, err := r.render(ctx, images)
	if err != nil {
		return err
	}
	if err := r.injectDebug(ctx, images, p.kustomize); err != nil {
		return err
	}
	if err := r.injectHelper(ctx, images, p.kustomize); err != nil {
		return err
	}
	res.Objects = append(append([]*unstructured.Unstructured(nil), p.helmObjects...), p.kustomize...)

	if hs := r.cfg.Deploy.Hooks.Before; len(hs) > 0 {
		if err := r.hooks.Run(ctx, "before deploy", "", hs, r.hookEnv("", "", "")); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}
	// What the pods did before this moment is not this deploy's doing.
	began := time.Now()
	// Helm releases first, then the overlay.
	if len(p.releases) > 0 {
		helmObjs, err := r.deployHelm(ctx, p.releases)
		if err != nil {
			return err
		}
		res.Objects = append(helmObjs, p.kustomize...)
	}
	objs := res.Objects
	if r.cfg.Deploy.Kustomize.Dir != "" {
		at := events.Start(r.sink, events.Event{Phase: events.PhaseApply})
		ar, err := r.applier.Apply(ctx, p.kustomize, deploy.ApplyOptions{
			Force: r.opts.Force, ConfigName: r.cfg.Metadata.Name, Adopt: r.opts.Adopt || r.cfg.Deploy.Adopt,
		})
		res.Apply = ar
		if err != nil {
			at.Fail(err, func(e *events.Event) { e.Counts = countActions(ar) })
			return err // an apply error says what was applied and what failed
		}
		for _, o := range ar.Objects {
			if o.Action != deploy.ActionUnchanged {
				r.sink.Emit(objectEvent(o))
			}
		}
		at.Done(summarizeApply(ar), func(e *events.Event) { e.Counts = countActions(ar) })
	}
	ar := res.Apply

	keep := make([]deploy.ObjectRef, 0, len(ar.Objects))
	for _, o := range ar.Objects {
		keep = append(keep, o.Ref)
	}
	pt := events.Start(r.sink, events.Event{Phase: events.PhasePrune})
	pruned, err := r.applier.Prune(ctx, r.cfg.Metadata.Name, keep)
	res.Pruned = pruned
	if err != nil {
		pt.Fail(err)
		return fmt.Errorf("pruning: %w", err)
	}
	if len(pruned) == 0 {
		pt.Skip("nothing left the manifests")
	} else {
		names := make([]string, len(pruned))
		for i, p := range pruned {
			names[i] = p.String()
		}
		pt.Done("deleted " + strings.Join(names, ", "))
	}

	st := events.Start(r.sink, events.Event{Phase: events.PhaseStatus})
	err = r.waiter.Wait(ctx, began, objs, r.cfg.Deploy.StatusTimeout, func(s status.ObjectStatus) {
		r.sink.Emit(events.Event{Phase: events.PhaseStatus, Status: events.StatusInfo, Object: s.Ref.String(), Message: s.Message})
	})
	if err != nil {
		st.Fail(err)
		return err
	}
	st.Done(fmt.Sprintf("%d objects ready", len(objs)))
	r.removeSuperseded(ctx, images)
	if hs := r.cfg.Deploy.Hooks.After; len(hs) > 0 {
		if err := r.hooks.Run(ctx, "after deploy", "", hs, r.hookEnv("", "", "")); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}
	return nil
}

// CheckPortForwards fails when a port-forward names a resource the rendered
// manifests do not define.
func CheckPortForwards(cfg *config.Config, objs []*unstructured.Unstructured) error {
	for _, pf := range cfg.PortForward {
		want := config.ObjectKind(pf.Kind())
		found := false
		for _, o := range objs {
			if o.GetKind() == want && o.GetName() == pf.Name() && (pf.Namespace == "" || pf.Namespace == o.GetNamespace()) {
				found = true
				break
			}
		}
		if !found {
			return &InputError{Err: fmt.Errorf("portForward %s: the manifests of %s define no %s named %q",
				pf.Resource, sources(cfg), want, pf.Name())}
		}
	}
	return nil
}

// objectEvent reports what the apply did to one object; an adoption also
// records the object it replaced and the fields it changed.
func objectEvent(o deploy.ObjectResult) events.Event {
	e := events.Event{Phase: events.PhaseApply, Status: events.StatusInfo, Object: o.Ref.String(), Message: string(o.Action), Previous: o.Previous}
	for _, c := range o.Changes {
		e.Changes = append(e.Changes, c.String())
	}
	return e
}

func countActions(ar deploy.ApplyResult) map[string]int {
	c := map[string]int{"writes": ar.Writes}
	for _, o := range ar.Objects {
		c[string(o.Action)]++
	}
	return c
}

func summarizeApply(ar deploy.ApplyResult) string {
	if !ar.Changed() {
		return fmt.Sprintf("%d objects unchanged, nothing written", len(ar.Objects))
	}
	return fmt.Sprintf("%d objects, %d API writes", len(ar.Objects), ar.Writes)
}

// mostCommonNamespace is the namespace most of the rendered namespaced
// objects are in: the app's, for hooks.
func mostCommonNamespace(objs []*unstructured.Unstructured) string {
	count := map[string]int{}
	best := ""
	for _, o := range objs {
		ns := o.GetNamespace()
		if ns == "" {
			continue
		}
		count[ns]++
		if count[ns] > count[best] || (count[ns] == count[best] && ns < best) {
			best = ns
		}
	}
	return best
}
