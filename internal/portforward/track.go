package portforward

import (
	"context"
	"fmt"

	"github.com/devloop-dev/devloop/internal/podwatch"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// track lists and watches the resource's pods until ctx is done, keeping the
// served target on the newest Ready pod. Failures (the API server away, the
// resource missing) are retried with backoff; the last good target keeps
// being served meanwhile.
func (f *Forwarder) track(ctx context.Context) {
	ps := &podSet{f: f}
	w := podwatch.New(f.client.CoreV1(), f.log, "following pods failed; retrying")
	w.Run(ctx, ps.resolve, ps)
}

// podSet is the pods of the current selection, as the podwatch.Handler of
// track's watcher: every change chooses the pod to serve again.
type podSet struct {
	f      *Forwarder
	target intstr.IntOrString // the port, from the last resolve
	known  map[types.UID]*corev1.Pod
}

// resolve reads the resource before each list: its selector and target port
// may have changed.
func (s *podSet) resolve(ctx context.Context) (podwatch.Selection, error) {
	sel, err := s.f.resolve(ctx)
	if err != nil {
		return podwatch.Selection{}, err
	}
	s.target = sel.target
	return podwatch.Selection{Namespace: s.f.spec.Namespace, Labels: sel.selector, Fields: sel.fieldSelector}, nil
}

// Listed replaces the known pods with the listed ones.
func (s *podSet) Listed(_ context.Context, pods []*corev1.Pod) {
	s.known = make(map[types.UID]*corev1.Pod, len(pods))
	for _, p := range pods {
		s.known[p.UID] = p
	}
	s.f.choose(s.known, s.target)
}

// Changed records a pod added or modified.
func (s *podSet) Changed(_ context.Context, p *corev1.Pod) {
	s.known[p.UID] = p
	s.f.choose(s.known, s.target)
}

// Deleted forgets a deleted pod.
func (s *podSet) Deleted(_ context.Context, p *corev1.Pod) {
	delete(s.known, p.UID)
	s.f.choose(s.known, s.target)
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

// choose switches to the newest Ready pod of known.
func (f *Forwarder) choose(known map[types.UID]*corev1.Pod, port intstr.IntOrString) {
	pods := make([]*corev1.Pod, 0, len(known))
	for _, p := range known {
		pods = append(pods, p)
	}
	var served *corev1.Pod
	for len(pods) > 0 {
		p := newestReady(pods)
		if p == nil {
			break
		}
		n, err := containerPort(p, port)
		if err == nil {
			served = p
			f.setTarget(f.targetFor(p, n))
			break
		}
		f.log.Warn("skipping pod", zap.String("pod", p.Name), zap.Error(err))
		pods = remove(pods, p)
	}
	if served == nil {
		f.setTarget(nil)
	}
	f.prepare(known, served, port)
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
