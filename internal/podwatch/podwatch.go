// Package podwatch follows the pods of one namespace that match a selection:
// it lists them, watches from the list's resourceVersion, re-lists when the
// watch ends or expires, and retries failures with capped exponential
// backoff, handing every pod it sees to a Handler until its context ends.
package podwatch

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// PodsGetter is the part of a clientset a Watcher reads pods through;
// clientset.CoreV1() is one.
type PodsGetter interface {
	Pods(namespace string) corev1client.PodInterface
}

// Selection is the pods of one namespace that match both selectors.
type Selection struct {
	// Namespace of the pods; empty means every namespace.
	Namespace string
	// Labels the pods must match; nil matches every pod.
	Labels labels.Selector
	// Fields the pods must match; nil matches every pod.
	Fields fields.Selector
}

// SelectFunc returns the pods to follow. Run calls it before every list, so a
// selection read from another object (a service's selector) follows that
// object's changes; an error is retried with backoff like a failed list.
type SelectFunc func(ctx context.Context) (Selection, error)

// Fixed returns a SelectFunc that always selects s.
func Fixed(s Selection) SelectFunc {
	return func(context.Context) (Selection, error) { return s, nil }
}

// Handler receives the pods a Watcher sees. Its methods are called one at a
// time from the goroutine running Run, with Run's context.
type Handler interface {
	// Listed is called after every list with the pods that exist now; a
	// pod known from before and missing here is gone.
	Listed(ctx context.Context, pods []*corev1.Pod)
	// Changed is called with a pod that was added or modified.
	Changed(ctx context.Context, pod *corev1.Pod)
	// Deleted is called with the last version of a deleted pod.
	Deleted(ctx context.Context, pod *corev1.Pod)
}

// Watcher lists and watches pods for a Handler.
type Watcher struct {
	pods     PodsGetter
	log      *zap.Logger
	retrying string
	min, max time.Duration // backoff between failed attempts
}

// New returns a Watcher that reads pods through pods. When listing or
// watching fails it logs retrying at Warn on log, with the error and the
// delay before the next attempt (on the first failure and on every one at
// the backoff's cap), and "watching pods again" at Info once a list succeeds
// after failures.
func New(pods PodsGetter, log *zap.Logger, retrying string) *Watcher {
	return &Watcher{pods: pods, log: log, retrying: retrying, min: 250 * time.Millisecond, max: 5 * time.Second}
}

// Run follows the pods that sel selects, handing them to h, until ctx is
// done. A watch that ends, or expires (410 Gone), is followed by a new list
// at once; a failure (the API server away, sel failing) is retried with
// backoff, reset by every successful list.
func (w *Watcher) Run(ctx context.Context, sel SelectFunc, h Handler) {
	b := Backoff{Min: w.min, Max: w.max}
	failing := false
	// A list that succeeds after failures is the recovery: said at once,
	// not when the watch that follows it ends.
	listed := func() {
		b.Reset()
		if failing {
			w.log.Info("watching pods again")
			failing = false
		}
	}
	for ctx.Err() == nil {
		err := w.watchOnce(ctx, sel, h, listed)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			continue // the watch ended normally: re-list at once
		}
		d := b.Next()
		if !failing || d == b.Max {
			w.log.Warn(w.retrying, zap.Error(err), zap.Duration("in", d))
		}
		failing = true
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// watchOnce selects, lists and watches until the watch ends or fails;
// listed is called once the list succeeded.
func (w *Watcher) watchOnce(ctx context.Context, sel SelectFunc, h Handler, listed func()) error {
	s, err := sel(ctx)
	if err != nil {
		return err
	}
	var opts metav1.ListOptions
	if s.Labels != nil {
		opts.LabelSelector = s.Labels.String()
	}
	if s.Fields != nil {
		opts.FieldSelector = s.Fields.String()
	}
	pods := w.pods.Pods(s.Namespace)
	list, err := pods.List(ctx, opts)
	if err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	listed()
	items := make([]*corev1.Pod, len(list.Items))
	for i := range list.Items {
		items[i] = &list.Items[i]
	}
	h.Listed(ctx, items)

	opts.ResourceVersion = list.ResourceVersion
	opts.AllowWatchBookmarks = true
	wi, err := pods.Watch(ctx, opts)
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return nil
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return nil
				}
				return fmt.Errorf("watching pods: %w", err)
			case watch.Added, watch.Modified:
				if p, ok := ev.Object.(*corev1.Pod); ok {
					h.Changed(ctx, p)
				}
			case watch.Deleted:
				if p, ok := ev.Object.(*corev1.Pod); ok {
					h.Deleted(ctx, p)
				}
			}
		}
	}
}

// Backoff doubles from Min to Max; Reset after progress. Run waits with one
// between failed attempts; callers that retry other calls on the pods they
// follow (such as log streams) use it too. Set Min and Max.
type Backoff struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the delay before the next attempt.
func (b *Backoff) Next() time.Duration {
	if b.cur == 0 {
		b.cur = b.Min
	} else if b.cur *= 2; b.cur > b.Max {
		b.cur = b.Max
	}
	return b.cur
}

// Reset starts the next delays from Min again.
func (b *Backoff) Reset() { b.cur = 0 }
