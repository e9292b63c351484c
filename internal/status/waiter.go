package status

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// WaiterOptions tunes a Waiter; zero values take the defaults.
type WaiterOptions struct {
	// PollInterval between reads of the objects; default 300ms.
	PollInterval time.Duration
	// Graces before transient-looking conditions fail the rollout
	// (defaults: unschedulable 10s, config errors 5s).
	Graces Graces
	// ClaimGrace is how long a PersistentVolumeClaim may stay Pending with a
	// provisioning or binding warning before failing; default 5s.
	ClaimGrace time.Duration
	// Settle is how long a workload's containers without a readiness probe
	// must have been ready before it counts as ready (a crashing container
	// looks ready for a moment); default 2s. A passed readiness probe needs
	// no settling.
	Settle time.Duration
	// NewPodsReady counts a Deployment ready as soon as its current
	// ReplicaSet's pods are, while the old ones are still being removed
	// (devloop dev: the port-forward already serves the new pods, and the
	// controller's scale-down costs a few hundred milliseconds more).
	// devloop run leaves it unset and waits for the old pods to go, so that
	// nothing but the new version answers behind the Service once it exits.
	NewPodsReady bool
	// LogLines is the length of the log tail; default 20.
	LogLines int
	// Events is the number of recent events shown; default 10.
	Events int
}

// Waiter waits for applied objects to become ready.
type Waiter struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	core   kubernetes.Interface
	log    *zap.Logger
	opts   WaiterOptions
}

// NewWaiter returns a Waiter reading objects through dyn (mapped with mapper)
// and pods, events and logs through core.
func NewWaiter(dyn dynamic.Interface, mapper meta.RESTMapper, core kubernetes.Interface, log *zap.Logger, opts WaiterOptions) *Waiter {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 300 * time.Millisecond
	}
	if opts.Graces.Unschedulable <= 0 {
		opts.Graces.Unschedulable = 10 * time.Second
	}
	if opts.Graces.Config <= 0 {
		opts.Graces.Config = 5 * time.Second
	}
	if opts.ClaimGrace <= 0 {
		opts.ClaimGrace = 5 * time.Second
	}
	if opts.Settle <= 0 {
		opts.Settle = 2 * time.Second
	}
	if opts.LogLines <= 0 {
		opts.LogLines = 20
	}
	if opts.Events <= 0 {
		opts.Events = 10
	}
	return &Waiter{dyn: dyn, mapper: mapper, core: core, log: log, opts: opts}
}

// RefOf returns the Ref of an object.
func RefOf(u *unstructured.Unstructured) Ref {
	return Ref{Group: u.GroupVersionKind().Group, Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName()}
}

// waitState is one Wait's memory: statuses and when conditions were first seen.
type waitState struct {
	mu        sync.Mutex
	statuses  map[Ref]ObjectStatus
	firstSeen map[string]time.Time
	seen      map[string]bool // keys observed in the current tick
	// began is when the deploy being waited for began.
	began time.Time
}

// judge is the diagnosis's view of this wait.
func (s *waitState) judge(g Graces) judge {
	return judge{began: s.began, since: s.since, graces: g}
}

func (s *waitState) since(key string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[key] = true
	t, ok := s.firstSeen[key]
	if !ok {
		s.firstSeen[key] = time.Now()
		return 0
	}
	return time.Since(t)
}

// Wait checks objs until all are ready (kstatus Current), ctx ends or the
// timeout passes: at once when a watch sees one of them (or their pods)
// change, else every PollInterval. It fails fast with a *RolloutError when
// a rollout cannot succeed and returns a *TimeoutError listing what is not
// ready on timeout. began is when the deploy being waited for began (its
// apply): what the pods did before, a crash at a node restart among them,
// is not this deploy's failure. onProgress (may be nil) is called when an
// object's status changes.
func (w *Waiter) Wait(ctx context.Context, began time.Time, objs []*unstructured.Unstructured, timeout time.Duration, onProgress func(ObjectStatus)) error {
	deadline := time.Now().Add(timeout)
	st := &waitState{statuses: map[Ref]ObjectStatus{}, firstSeen: map[string]time.Time{}, seen: map[string]bool{}, began: began}
	pending := make([]target, 0, len(objs))
	for _, o := range objs {
		t, err := w.target(o)
		if err != nil {
			return err
		}
		pending = append(pending, t)
	}
	wctx, stopWatches := context.WithCancel(ctx)
	defer stopWatches()
	wake := w.watchWake(wctx, pending)
	for {
		tick := time.Now()
		st.seen = map[string]bool{}
		var next []target
		var mu sync.Mutex
		snap := w.newSnapshot(pending)
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(8)
		for _, o := range pending {
			g.Go(func() error {
				s, err := w.check(gctx, o, snap, st)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				prev, had := st.statuses[s.Ref]
				st.statuses[s.Ref] = s
				if onProgress != nil && (!had || prev != s) {
					onProgress(s)
				}
				if !s.Ready() {
					next = append(next, o)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		// Conditions not seen this tick start their grace again.
		for k := range st.firstSeen {
			if !st.seen[k] {
				delete(st.firstSeen, k)
			}
		}
		pending = next
		if len(pending) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			e := &TimeoutError{Timeout: timeout}
			for _, t := range pending {
				e.NotReady = append(e.NotReady, st.statuses[t.ref()])
			}
			return e
		}
		if err := w.pause(ctx, wake, tick); err != nil {
			return fmt.Errorf("waiting for readiness: %w", err)
		}
	}
}

// target resolves an object to its resource and namespace.
func (w *Waiter) target(o *unstructured.Unstructured) (target, error) {
	m, err := w.mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
	if err != nil {
		return target{}, fmt.Errorf("waiting for %s: %w", RefOf(o), err)
	}
	t := target{obj: o, mapping: m}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		t.ns = o.GetNamespace()
		if t.ns == "" {
			t.ns = "default"
		}
	}
	return t, nil
}

// ref is the target's Ref, with the namespace it is read from.
func (t target) ref() Ref {
	r := RefOf(t.obj)
	if t.ns != "" {
		r.Namespace = t.ns
	}
	return r
}

// resource is the dynamic client of a resource in ns ("" for cluster-scoped).
func (w *Waiter) resource(m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	if ns == "" {
		return w.dyn.Resource(m.Resource)
	}
	return w.dyn.Resource(m.Resource).Namespace(ns)
}

// check reads one object, computes its status and diagnoses it.
func (w *Waiter) check(ctx context.Context, t target, snap *snapshot, st *waitState) (ObjectStatus, error) {
	ref := t.ref()
	live, err := snap.object(ctx, t)
	if apierrors.IsNotFound(err) {
		return ObjectStatus{Ref: ref, Status: string(kstatus.NotFoundStatus), Message: "not found"}, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return ObjectStatus{}, fmt.Errorf("waiting for readiness: %w", ctx.Err())
		}
		// The API server may be restarting: report, keep polling.
		return ObjectStatus{Ref: ref, Status: string(kstatus.UnknownStatus), Message: err.Error()}, nil
	}
	res, err := compute(live)
	if err != nil {
		return ObjectStatus{Ref: ref, Status: string(kstatus.UnknownStatus), Message: err.Error()}, nil
	}
	s := ObjectStatus{Ref: ref, Status: string(res.Status), Message: res.Message}
	if w.opts.NewPodsReady && onlyOldPodsLeft(live, res) {
		if pods, err := w.currentPods(ctx, live, snap); err == nil && enoughReady(live, pods) {
			s = ObjectStatus{Ref: ref, Status: string(kstatus.CurrentStatus), Message: "new pods ready; " + res.Message}
		}
	}
	if s.Ready() {
		if !podOwners[live.GetKind()] {
			return s, nil
		}
		// A crashing container can look ready for a moment: the pods must
		// have settled, and have no problem.
		settled, err := w.settled(ctx, ref, live, snap, st)
		if err != nil || settled {
			return s, err
		}
		return ObjectStatus{Ref: ref, Status: string(kstatus.InProgressStatus), Message: "waiting for pods to settle"}, nil
	}
	if rerr := w.diagnose(ctx, ref, live, res, snap, st); rerr != nil {
		return s, rerr
	}
	return s, nil
}

// podOwners are the kinds whose readiness is checked again on their pods.
var podOwners = map[string]bool{"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true, "Pod": true}

// compute is kstatus's status, except that a Job is ready only once Complete
// (kstatus calls a running Job Current).
func compute(live *unstructured.Unstructured) (*kstatus.Result, error) {
	res, err := kstatus.Compute(live)
	if err != nil || res.Status != kstatus.CurrentStatus || live.GetKind() != "Job" {
		return res, err
	}
	conds, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
	for _, c := range conds {
		if cm, ok := c.(map[string]interface{}); ok && cm["type"] == "Complete" && cm["status"] == "True" {
			return res, nil
		}
	}
	return &kstatus.Result{Status: kstatus.InProgressStatus, Message: res.Message}, nil
}

// settled checks the current pods of a ready workload: a problem fails the
// rollout; a container that is not ready, or ready for less than Settle, is
// not settled yet.
func (w *Waiter) settled(ctx context.Context, ref Ref, live *unstructured.Unstructured, snap *snapshot, st *waitState) (bool, error) {
	pods, err := w.currentPods(ctx, live, snap)
	if err != nil {
		return false, nil
	}
	settled := true
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase == "Succeeded" {
			continue
		}
		if prob := diagnosePod(p, st.judge(w.opts.Graces)); prob != nil {
			return false, w.podError(ctx, ref, p, prob, st)
		}
		probed := map[string]bool{}
		for _, c := range p.Spec.Containers {
			probed[c.Name] = c.ReadinessProbe != nil
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !cs.Ready || cs.State.Running == nil {
				settled = false
				continue
			}
			// A readiness probe that passed is the container's own word:
			// no settling on top of it.
			if probed[cs.Name] {
				continue
			}
			// startedAt has a resolution of seconds and the kubelet reports
			// with a delay: only a container running for a while is settled
			// by its own clock.
			longAgo := time.Since(cs.State.Running.StartedAt.Time) > 10*time.Second
			if !longAgo && st.since("ready/"+string(p.UID)+"/"+cs.Name) < w.opts.Settle {
				settled = false
			}
		}
	}
	return settled, nil
}

// podError builds the RolloutError of a pod's problem.
func (w *Waiter) podError(ctx context.Context, ref Ref, p *corev1.Pod, prob *podProblem, st *waitState) error {
	e := &RolloutError{Object: ref, Pod: p.Name, Container: prob.Container, Reason: prob.Reason, Message: prob.Message}
	e.Events = w.events(ctx, st.began, p.Namespace, "Pod", p.Name)
	if !imageReasons[prob.Reason] && prob.Reason != "Unschedulable" { // else the container never ran
		e.LogTail = w.logTail(ctx, p.Namespace, p.Name, prob.Container, prob.Previous)
	}
	return e
}
