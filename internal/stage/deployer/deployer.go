// Package deployer is the deploy stage: rendered objects in, objects
// running in the cluster out. Helm releases are installed or upgraded
// first, then the overlay's objects are applied with server-side apply,
// the objects that left the manifests are pruned, and the stage waits
// until everything deployed is ready.
package deployer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
	"github.com/devloop-dev/devloop/internal/stage/renderer"
	"github.com/devloop-dev/devloop/internal/status"
)

// Applier applies and prunes with server-side apply (deploy.Applier).
type Applier interface {
	Apply(ctx context.Context, objs []*unstructured.Unstructured, opts deploy.ApplyOptions) (deploy.ApplyResult, error)
	Prune(ctx context.Context, config string, keep []deploy.ObjectRef) ([]deploy.ObjectRef, error)
}

// Waiter waits until objects are ready (status.Waiter).
type Waiter interface {
	Wait(ctx context.Context, began time.Time, objs []*unstructured.Unstructured, timeout time.Duration, onProgress func(status.ObjectStatus)) error
}

// HelmDeployer installs or upgrades a release (helm.Client).
type HelmDeployer interface {
	Deploy(ctx context.Context, r helm.Release, prev helm.Rendered) (helm.Result, error)
}

// Options tune the stage.
type Options struct {
	// Force recreates objects whose immutable fields changed.
	Force bool
	// Adopt takes over existing objects without devloop's labels (--adopt;
	// deploy.adopt does the same).
	Adopt bool
}

// Result is what a deploy did.
type Result struct {
	// Objects are the objects deployed: the releases' as installed, then
	// the applied ones.
	Objects []*unstructured.Unstructured
	// Apply is what the apply did.
	Apply deploy.ApplyResult
	// Pruned are the objects deleted because they left the manifests.
	Pruned []deploy.ObjectRef
}

// Stage deploys rendered objects. Deploy and SetNamespace are called from
// one goroutine at a time.
type Stage struct {
	sink       events.Sink
	newApplier func(namespace string) Applier
	waiter     Waiter
	helm       HelmDeployer
	opts       Options

	applier   Applier
	namespace string // the applier's default namespace
}

// New returns the deploy stage. newApplier makes the applier for a default
// namespace (the namespace of objects that name none).
func New(sink events.Sink, newApplier func(namespace string) Applier, w Waiter, h HelmDeployer, opts Options) *Stage {
	return &Stage{sink: sink, newApplier: newApplier, waiter: w, helm: h, opts: opts}
}

// SetNamespace makes the applier for the default namespace ns, keeping the
// current one (and its inventory cache) when ns is unchanged.
func (s *Stage) SetNamespace(ns string) {
	if s.applier != nil && ns == s.namespace {
		return
	}
	s.applier, s.namespace = s.newApplier(ns), ns
}

// Deploy installs the releases, applies the objects, prunes and waits. The
// result holds what was done before a failure too.
func (s *Stage) Deploy(ctx context.Context, cfg *config.Config, r renderer.Rendered) (Result, error) {
	res := Result{Objects: r.All()}
	// What the pods did before this moment is not this deploy's doing.
	began := time.Now()
	if len(r.Releases) > 0 {
		helmObjs, err := s.deployHelm(ctx, r.Releases)
		if err != nil {
			return res, err
		}
		res.Objects = append(helmObjs, r.Objects...)
	}
	if cfg.Deploy.Kustomize.Dir != "" {
		at := events.Start(s.sink, events.Event{Phase: events.PhaseApply})
		ar, err := s.applier.Apply(ctx, r.Objects, deploy.ApplyOptions{
			Force: s.opts.Force, ConfigName: cfg.Metadata.Name, Adopt: s.opts.Adopt || cfg.Deploy.Adopt,
		})
		res.Apply = ar
		if err != nil {
			at.Fail(err, func(e *events.Event) { e.Counts = countActions(ar) })
			return res, err // an apply error says what was applied and what failed
		}
		for _, o := range ar.Objects {
			if o.Action != deploy.ActionUnchanged {
				s.sink.Emit(objectEvent(o))
			}
		}
		at.Done(summarizeApply(ar), func(e *events.Event) { e.Counts = countActions(ar) })
	}

	keep := make([]deploy.ObjectRef, 0, len(res.Apply.Objects))
	for _, o := range res.Apply.Objects {
		keep = append(keep, o.Ref)
	}
	pt := events.Start(s.sink, events.Event{Phase: events.PhasePrune})
	pruned, err := s.applier.Prune(ctx, cfg.Metadata.Name, keep)
	res.Pruned = pruned
	if err != nil {
		pt.Fail(err)
		return res, fmt.Errorf("pruning: %w", err)
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

	st := events.Start(s.sink, events.Event{Phase: events.PhaseStatus})
	err = s.waiter.Wait(ctx, began, res.Objects, cfg.Deploy.StatusTimeout, func(o status.ObjectStatus) {
		s.sink.Emit(events.Event{Phase: events.PhaseStatus, Status: events.StatusInfo, Object: o.Ref.String(), Message: o.Message})
	})
	if err != nil {
		st.Fail(err)
		return res, err
	}
	st.Done(fmt.Sprintf("%d objects ready", len(res.Objects)))
	return res, nil
}

// deployHelm installs or upgrades the releases in order (the phase helm),
// and returns their objects as deployed.
func (s *Stage) deployHelm(ctx context.Context, rels []renderer.Release) ([]*unstructured.Unstructured, error) {
	if s.helm == nil {
		return nil, fmt.Errorf("helm releases configured but no Helm client")
	}
	var objs []*unstructured.Unstructured
	for _, hr := range rels {
		name := "release/" + hr.Release.Config.Name
		t := events.Start(s.sink, events.Event{Phase: events.PhaseHelm, Object: name})
		res, err := s.helm.Deploy(ctx, hr.Release, hr.Rendered)
		if err != nil {
			t.Fail(err)
			return nil, err
		}
		for _, h := range res.Hooks {
			s.sink.Emit(events.Event{Phase: events.PhaseHelm, Status: events.StatusInfo, Object: name, Message: "hook " + h})
		}
		msg := fmt.Sprintf("%s %s revision %d in %s (%d objects)", hr.Release.Config.Chart, res.Action, res.Revision, hr.Release.Namespace, len(res.Objects))
		if len(res.Hooks) > 0 {
			msg += "; hooks: " + strings.Join(res.Hooks, ", ")
		}
		t.Done(msg, func(e *events.Event) {
			e.Counts = map[string]int{"revision": res.Revision}
		})
		objs = append(objs, res.Objects...)
	}
	return objs, nil
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
