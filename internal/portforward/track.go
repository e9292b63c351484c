package portforward

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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
)

// backoff doubles from min to max; reset after progress.
type backoff struct{ min, max, cur time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur *= 2; b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// track lists and watches the resource's pods until ctx is done, keeping the
// served target on the newest Ready pod. Failures (the API server away, the
// resource missing) are retried with backoff; the last good target keeps
// being served meanwhile.
func (f *Forwarder) track(ctx context.Context) {
	b := backoff{min: 250 * time.Millisecond, max: 5 * time.Second}
	failing := false
	for ctx.Err() == nil {
		progressed, err := f.watchOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			b.reset()
			if failing {
				f.log.Info("watching pods again")
				failing = false
			}
		}
		if err == nil {
			continue // the watch ended normally: re-list at once
		}
		d := b.next()
		if !failing || d == b.max {
			f.log.Warn("following pods failed; retrying", zap.Error(err), zap.Duration("in", d))
		}
		failing = true
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

// selection is how pods are found and which port they serve on.
type selection struct {
	selector      labels.Selector
	fieldSelector fields.Selector
	target        intstr.IntOrString
}

// resolve reads the resource and returns its pod selection.
func (f *Forwarder) resolve(ctx context.Context) (selection, error) {
	ns := f.spec.Namespace
	sel := selection{selector: labels.Everything(), fieldSelector: fields.Everything(), target: intstr.FromInt(f.spec.Port)}
	var ls *metav1.LabelSelector
	switch f.kind {
	case KindPod:
		sel.fieldSelector = fields.OneTermEqualSelector("metadata.name", f.name)
		return sel, nil
	case KindService:
		svc, err := f.client.CoreV1().Services(ns).Get(ctx, f.name, metav1.GetOptions{})
		if err != nil {
			return sel, fmt.Errorf("reading service/%s: %w", f.name, err)
		}
		if len(svc.Spec.Selector) == 0 {
			return sel, fmt.Errorf("service/%s has no selector: no pods to forward to", f.name)
		}
		t, err := servicePortTarget(svc, f.spec.Port)
		if err != nil {
			return sel, err
		}
		sel.target = t
		sel.selector = labels.SelectorFromSet(svc.Spec.Selector)
		return sel, nil
	case KindDeployment:
		d, err := f.client.AppsV1().Deployments(ns).Get(ctx, f.name, metav1.GetOptions{})
		if err != nil {
			return sel, fmt.Errorf("reading deployment/%s: %w", f.name, err)
		}
		ls = d.Spec.Selector
	case KindStatefulSet:
		s, err := f.client.AppsV1().StatefulSets(ns).Get(ctx, f.name, metav1.GetOptions{})
		if err != nil {
			return sel, fmt.Errorf("reading statefulset/%s: %w", f.name, err)
		}
		ls = s.Spec.Selector
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return sel, fmt.Errorf("%s/%s selector: %w", f.kind, f.name, err)
	}
	if s.Empty() {
		return sel, fmt.Errorf("%s/%s has an empty selector", f.kind, f.name)
	}
	sel.selector = s
	return sel, nil
}

// watchOnce resolves, lists and watches until the watch ends or fails.
// progressed reports whether the list succeeded.
func (f *Forwarder) watchOnce(ctx context.Context) (progressed bool, err error) {
	sel, err := f.resolve(ctx)
	if err != nil {
		return false, err
	}
	opts := metav1.ListOptions{LabelSelector: sel.selector.String(), FieldSelector: sel.fieldSelector.String()}
	pods := f.client.CoreV1().Pods(f.spec.Namespace)
	list, err := pods.List(ctx, opts)
	if err != nil {
		return false, fmt.Errorf("listing pods: %w", err)
	}
	known := map[types.UID]*corev1.Pod{}
	for i := range list.Items {
		known[list.Items[i].UID] = &list.Items[i]
	}
	f.choose(known, sel.target)

	opts.ResourceVersion = list.ResourceVersion
	opts.AllowWatchBookmarks = true
	w, err := pods.Watch(ctx, opts)
	if err != nil {
		return true, fmt.Errorf("watching pods: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return true, nil
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return true, nil
				}
				return true, fmt.Errorf("watching pods: %w", err)
			case watch.Added, watch.Modified:
				if p, ok := ev.Object.(*corev1.Pod); ok {
					known[p.UID] = p
				}
			case watch.Deleted:
				if p, ok := ev.Object.(*corev1.Pod); ok {
					delete(known, p.UID)
				}
			default:
				continue
			}
			f.choose(known, sel.target)
		}
	}
}

// choose switches to the newest Ready pod of known.
func (f *Forwarder) choose(known map[types.UID]*corev1.Pod, port intstr.IntOrString) {
	pods := make([]*corev1.Pod, 0, len(known))
	for _, p := range known {
		pods = append(pods, p)
	}
	for len(pods) > 0 {
		p := newestReady(pods)
		if p == nil {
			break
		}
		n, err := containerPort(p, port)
		if err == nil {
			f.setTarget(&target{namespace: p.Namespace, pod: p.Name, uid: p.UID, port: n})
			return
		}
		f.log.Warn("skipping pod", zap.String("pod", p.Name), zap.Error(err))
		pods = remove(pods, p)
	}
	f.setTarget(nil)
}

func remove(pods []*corev1.Pod, p *corev1.Pod) []*corev1.Pod {
	out := pods[:0]
	for _, q := range pods {
		if q != p {
			out = append(out, q)
		}
	}
	return out
}
