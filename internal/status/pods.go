package status

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// selectorOf returns the live workload's pod selector, nil when it has none.
func selectorOf(live *unstructured.Unstructured) (labels.Selector, error) {
	m, ok, _ := unstructured.NestedMap(live.Object, "spec", "selector")
	if !ok {
		if live.GetKind() == "Job" {
			return labels.SelectorFromSet(labels.Set{"batch.kubernetes.io/job-name": live.GetName()}), nil
		}
		return nil, nil
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
		return nil, fmt.Errorf("reading the selector of %s: %w", live.GetName(), err)
	}
	return metav1.LabelSelectorAsSelector(&ls)
}

// currentPods returns the pods of the workload's current revision (old
// ReplicaSets' pods are on their way out and do not count).
func (w *Waiter) currentPods(ctx context.Context, live *unstructured.Unstructured, snap *snapshot) ([]corev1.Pod, error) {
	ns := live.GetNamespace()
	all, err := snap.podsIn(ctx, ns)
	if err != nil {
		return nil, err
	}
	if live.GetKind() == "Pod" {
		for _, p := range all {
			if p.Name == live.GetName() {
				return []corev1.Pod{p}, nil
			}
		}
		return nil, fmt.Errorf("pod %s/%s is gone", ns, live.GetName())
	}
	sel, err := selectorOf(live)
	if err != nil || sel == nil {
		return nil, err
	}
	filter := func(corev1.Pod) bool { return true }
	switch live.GetKind() {
	case "Deployment":
		hash, err := w.newestTemplateHash(ctx, live, sel, snap)
		if err != nil || hash == "" {
			return nil, err
		}
		filter = func(p corev1.Pod) bool { return p.Labels["pod-template-hash"] == hash }
	case "StatefulSet":
		if rev, _, _ := unstructured.NestedString(live.Object, "status", "updateRevision"); rev != "" {
			filter = func(p corev1.Pod) bool { return p.Labels["controller-revision-hash"] == rev }
		}
	}
	var out []corev1.Pod
	for _, p := range all {
		if p.DeletionTimestamp == nil && sel.Matches(labels.Set(p.Labels)) && filter(p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// newestTemplateHash finds the pod-template-hash of the Deployment's
// current ReplicaSet ("" while the controller has not caught up).
func (w *Waiter) newestTemplateHash(ctx context.Context, dep *unstructured.Unstructured, sel labels.Selector, snap *snapshot) (string, error) {
	if g, _, _ := unstructured.NestedInt64(dep.Object, "status", "observedGeneration"); g < dep.GetGeneration() {
		return "", nil
	}
	rev := dep.GetAnnotations()["deployment.kubernetes.io/revision"]
	all, err := snap.replicaSetsIn(ctx, dep.GetNamespace())
	if err != nil {
		return "", err
	}
	for _, rs := range all {
		if sel.Matches(labels.Set(rs.Labels)) && rs.Annotations["deployment.kubernetes.io/revision"] == rev && metav1.IsControlledBy(&rs, dep) {
			return rs.Labels["pod-template-hash"], nil
		}
	}
	return "", nil
}

// events returns the object's recent events since the deploy began, oldest
// first, formatted; those from before are counted, not shown (a back-off
// of last week's crash is not this deploy's story).
func (w *Waiter) events(ctx context.Context, began time.Time, ns, kind, name string) []string {
	list, err := w.core.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": name, "involvedObject.kind": kind}.String(),
	})
	if err != nil {
		return []string{fmt.Sprintf("(events unavailable: %v)", err)}
	}
	evs, older := recentEvents(list.Items, began, w.opts.Events)
	out := make([]string, 0, len(evs)+1)
	if older > 0 {
		out = append(out, fmt.Sprintf("(%d earlier events, from before this deploy, not shown)", older))
	}
	for _, e := range evs {
		s := fmt.Sprintf("%s %s: %s", e.Type, e.Reason, e.Message)
		if e.Count > 1 {
			s += fmt.Sprintf(" (x%d)", e.Count)
		}
		out = append(out, s)
	}
	return out
}

// recentEvents keeps the last max events that happened at or after began
// (to the second) or carry no time, oldest first, and counts those from
// before.
func recentEvents(evs []corev1.Event, began time.Time, max int) (kept []corev1.Event, older int) {
	at := func(e corev1.Event) time.Time {
		switch {
		case !e.LastTimestamp.IsZero():
			return e.LastTimestamp.Time
		case !e.EventTime.IsZero():
			return e.EventTime.Time
		}
		return e.CreationTimestamp.Time
	}
	from := began.Truncate(time.Second)
	for _, e := range evs {
		if t := at(e); !t.IsZero() && t.Before(from) {
			older++
			continue
		}
		kept = append(kept, e)
	}
	sort.SliceStable(kept, func(i, j int) bool { return at(kept[i]).Before(at(kept[j])) })
	if len(kept) > max {
		kept = kept[len(kept)-max:]
	}
	return kept, older
}

// logTail returns the container's last lines (its previous instance when
// previous, falling back to the current one).
func (w *Waiter) logTail(ctx context.Context, ns, pod, container string, previous bool) []string {
	if container == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tail := int64(w.opts.LogLines)
	read := func(prev bool) ([]byte, error) {
		return w.core.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: prev, TailLines: &tail}).DoRaw(ctx)
	}
	data, err := read(previous)
	if err != nil && previous {
		data, err = read(false)
	}
	if err != nil {
		return []string{fmt.Sprintf("(logs unavailable: %v)", err)}
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}
