package status

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// listFrom is the number of pending objects of one resource in one
// namespace from which a tick lists them instead of getting each: one
// request instead of hundreds for a big overlay, and no client-side rate
// limiting.
const listFrom = 3

// snapshot is one tick's reads, shared by the checks of all pending objects:
// each resource list, the pods and the ReplicaSets of a namespace are read
// at most once per tick, on first need.
type snapshot struct {
	w      *Waiter
	groups map[groupKey]*group
	mu     sync.Mutex
	pods   map[string]*lazy[[]corev1.Pod]
	rsets  map[string]*lazy[[]appsv1.ReplicaSet]
}

type groupKey struct {
	gvr schema.GroupVersionResource
	ns  string
}

// group is the pending objects of one resource and namespace, and the
// labels they all carry (the list's selector).
type group struct {
	size   int
	common labels.Set
	list   lazy[map[string]*unstructured.Unstructured]
}

// lazy is a value read once, on first use.
type lazy[T any] struct {
	once sync.Once
	val  T
	err  error
}

func (l *lazy[T]) get(read func() (T, error)) (T, error) {
	l.once.Do(func() { l.val, l.err = read() })
	return l.val, l.err
}

// target is a pending object resolved to its resource and namespace.
type target struct {
	obj     *unstructured.Unstructured
	mapping *meta.RESTMapping
	ns      string // "" for cluster-scoped objects
}

// newSnapshot groups the targets by resource and namespace.
func (w *Waiter) newSnapshot(targets []target) *snapshot {
	s := &snapshot{w: w, groups: map[groupKey]*group{},
		pods: map[string]*lazy[[]corev1.Pod]{}, rsets: map[string]*lazy[[]appsv1.ReplicaSet]{}}
	for _, t := range targets {
		k := groupKey{t.mapping.Resource, t.ns}
		g := s.groups[k]
		if g == nil {
			g = &group{common: labels.Set(t.obj.GetLabels())}
			s.groups[k] = g
		} else {
			g.common = intersect(g.common, t.obj.GetLabels())
		}
		g.size++
	}
	return s
}

func intersect(a labels.Set, b map[string]string) labels.Set {
	out := labels.Set{}
	for k, v := range a {
		if b[k] == v {
			out[k] = v
		}
	}
	return out
}

// object reads the live object of t: from its group's list when the group
// is big enough, else with a get. A missing object is a NotFound error.
func (s *snapshot) object(ctx context.Context, t target) (*unstructured.Unstructured, error) {
	ri := s.w.resource(t.mapping, t.ns)
	g := s.groups[groupKey{t.mapping.Resource, t.ns}]
	if g == nil || g.size < listFrom {
		return ri.Get(ctx, t.obj.GetName(), metav1.GetOptions{})
	}
	byName, err := g.list.get(func() (map[string]*unstructured.Unstructured, error) {
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(g.common).String()})
		if err != nil {
			return nil, err
		}
		m := make(map[string]*unstructured.Unstructured, len(list.Items))
		for i := range list.Items {
			m[list.Items[i].GetName()] = &list.Items[i]
		}
		return m, nil
	})
	if err != nil {
		return nil, err
	}
	if u, ok := byName[t.obj.GetName()]; ok {
		return u, nil
	}
	return nil, apierrors.NewNotFound(t.mapping.Resource.GroupResource(), t.obj.GetName())
}

// podsIn returns the pods of namespace ns.
func (s *snapshot) podsIn(ctx context.Context, ns string) ([]corev1.Pod, error) {
	s.mu.Lock()
	l := s.pods[ns]
	if l == nil {
		l = &lazy[[]corev1.Pod]{}
		s.pods[ns] = l
	}
	s.mu.Unlock()
	return l.get(func() ([]corev1.Pod, error) {
		list, err := s.w.core.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the pods in %s: %w", ns, err)
		}
		return list.Items, nil
	})
}

// replicaSetsIn returns the ReplicaSets of namespace ns.
func (s *snapshot) replicaSetsIn(ctx context.Context, ns string) ([]appsv1.ReplicaSet, error) {
	s.mu.Lock()
	l := s.rsets[ns]
	if l == nil {
		l = &lazy[[]appsv1.ReplicaSet]{}
		s.rsets[ns] = l
	}
	s.mu.Unlock()
	return l.get(func() ([]appsv1.ReplicaSet, error) {
		list, err := s.w.core.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing the ReplicaSets in %s: %w", ns, err)
		}
		return list.Items, nil
	})
}
