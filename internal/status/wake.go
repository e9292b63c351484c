package status

import (
	"context"
	"time"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
)

// watchWake watches what a Wait looks at (each pending resource in its
// namespace, and the pods of those namespaces) and sends on the returned
// channel when any of it changes, so that a check runs at once instead of
// at the next poll: a pod's Ready condition is seen within one round trip.
// The poll stays as the fallback (a watch that fails or ends is not
// restarted; the next poll covers it). The watches end with ctx.
func (w *Waiter) watchWake(ctx context.Context, targets []target) <-chan struct{} {
	wake := make(chan struct{}, 1)
	notify := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	type key struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	seen := map[key]bool{}
	namespaces := map[string]bool{}
	for _, t := range targets {
		k := key{t.mapping.Resource, t.ns}
		if !seen[k] {
			seen[k] = true
			go w.forward(ctx, notify, func(opts metav1.ListOptions) (watch.Interface, error) {
				return w.resource(t.mapping, t.ns).Watch(ctx, opts)
			})
		}
		if t.ns != "" && podOwners[t.obj.GetKind()] && !namespaces[t.ns] {
			namespaces[t.ns] = true
			ns := t.ns
			go w.forward(ctx, notify, func(opts metav1.ListOptions) (watch.Interface, error) {
				return w.core.CoreV1().Pods(ns).Watch(ctx, opts)
			})
		}
	}
	return wake
}

// forward starts one watch and calls notify for each of its events until
// ctx ends or the watch does.
func (w *Waiter) forward(ctx context.Context, notify func(), start func(metav1.ListOptions) (watch.Interface, error)) {
	wi, err := start(metav1.ListOptions{AllowWatchBookmarks: false})
	if err != nil {
		if ctx.Err() == nil {
			w.log.Debug("readiness watch failed; polling only", zap.Error(err))
		}
		return
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			notify()
		}
	}
}

// pause waits for the next check: a change seen by the watches (no sooner
// than minGap after the last check, so that a burst of events makes one
// check), or the poll interval.
func (w *Waiter) pause(ctx context.Context, wake <-chan struct{}, last time.Time) error {
	const minGap = 20 * time.Millisecond
	poll := time.NewTimer(w.opts.PollInterval)
	defer poll.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-poll.C:
		return nil
	case <-wake:
	}
	if gap := minGap - time.Since(last); gap > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(gap):
		}
	}
	return nil
}
