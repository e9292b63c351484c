package dashboard

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// Resource is one row of the table.
type Resource struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	// Status is kstatus's: Current, InProgress, Failed, Terminating, ...
	Status   string `json:"status"`
	Ready    string `json:"ready,omitempty"` // ready/desired
	Restarts int32  `json:"restarts"`
	// Reason says why it is not ready, in words.
	Reason string `json:"reason,omitempty"`
	Age    string `json:"age"`
}

// KubeResources lists what a devloop config deployed, from the cluster:
// workloads, Jobs, Services, claims and pods (never Secrets).
type KubeResources struct {
	Client     kubernetes.Interface
	Namespaces []string
	Selector   labels.Selector
}

var _ ResourceLister = KubeResources{}

// Resources implements ResourceLister.
func (k KubeResources) Resources(ctx context.Context) ([]Resource, error) {
	opts := metav1.ListOptions{LabelSelector: k.Selector.String()}
	var out []Resource
	for _, ns := range k.Namespaces {
		pods, err := k.Client.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods in %s: %w", ns, err)
		}
		restarts := func(sel *metav1.LabelSelector) int32 {
			s, err := metav1.LabelSelectorAsSelector(sel)
			if err != nil {
				return 0
			}
			var n int32
			for _, p := range pods.Items {
				if s.Matches(labels.Set(p.Labels)) {
					for _, cs := range p.Status.ContainerStatuses {
						n += cs.RestartCount
					}
				}
			}
			return n
		}
		add := func(kind string, obj runtime.Object, meta metav1.ObjectMeta, ready string, sel *metav1.LabelSelector) {
			r := Resource{Kind: kind, Name: meta.Name, Namespace: meta.Namespace, Ready: ready, Age: age(meta.CreationTimestamp.Time)}
			r.Status, r.Reason = statusOf(kind, obj)
			if sel != nil {
				r.Restarts = restarts(sel)
				if r.Status != string(kstatus.CurrentStatus) {
					if why := podReason(pods.Items, sel); why != "" {
						r.Reason = why
					}
				}
			}
			out = append(out, r)
		}
		deps, err := k.Client.AppsV1().Deployments(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing deployments in %s: %w", ns, err)
		}
		for i := range deps.Items {
			d := &deps.Items[i]
			add("Deployment", d, d.ObjectMeta, fmt.Sprintf("%d/%d", d.Status.ReadyReplicas, replicas(d.Spec.Replicas)), d.Spec.Selector)
		}
		sts, err := k.Client.AppsV1().StatefulSets(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing statefulsets in %s: %w", ns, err)
		}
		for i := range sts.Items {
			s := &sts.Items[i]
			add("StatefulSet", s, s.ObjectMeta, fmt.Sprintf("%d/%d", s.Status.ReadyReplicas, replicas(s.Spec.Replicas)), s.Spec.Selector)
		}
		dss, err := k.Client.AppsV1().DaemonSets(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing daemonsets in %s: %w", ns, err)
		}
		for i := range dss.Items {
			d := &dss.Items[i]
			add("DaemonSet", d, d.ObjectMeta, fmt.Sprintf("%d/%d", d.Status.NumberReady, d.Status.DesiredNumberScheduled), d.Spec.Selector)
		}
		jobs, err := k.Client.BatchV1().Jobs(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing jobs in %s: %w", ns, err)
		}
		for i := range jobs.Items {
			j := &jobs.Items[i]
			add("Job", j, j.ObjectMeta, fmt.Sprintf("%d/%d", j.Status.Succeeded, replicas(j.Spec.Completions)), j.Spec.Selector)
		}
		svcs, err := k.Client.CoreV1().Services(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing services in %s: %w", ns, err)
		}
		for i := range svcs.Items {
			add("Service", &svcs.Items[i], svcs.Items[i].ObjectMeta, "", nil)
		}
		pvcs, err := k.Client.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing claims in %s: %w", ns, err)
		}
		for i := range pvcs.Items {
			add("PersistentVolumeClaim", &pvcs.Items[i], pvcs.Items[i].ObjectMeta, "", nil)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		// Problems first, then by kind and name.
		pi, pj := out[i].Status != string(kstatus.CurrentStatus), out[j].Status != string(kstatus.CurrentStatus)
		if pi != pj {
			return pi
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// statusOf is kstatus's status and message of a typed object.
func statusOf(kind string, obj runtime.Object) (string, string) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return string(kstatus.UnknownStatus), err.Error()
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetKind(kind)
	u.SetAPIVersion(apiVersions[kind])
	res, err := kstatus.Compute(u)
	if err != nil {
		return string(kstatus.UnknownStatus), err.Error()
	}
	return string(res.Status), res.Message
}

var apiVersions = map[string]string{
	"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1",
	"Service": "v1", "PersistentVolumeClaim": "v1",
}

// podReason is the first waiting or terminated reason of the selected pods,
// e.g. "CrashLoopBackOff: back-off 10s restarting failed container".
func podReason(pods []corev1.Pod, sel *metav1.LabelSelector) string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return ""
	}
	for _, p := range pods {
		if !s.Matches(labels.Set(p.Labels)) {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
				return fmt.Sprintf("%s/%s: %s %s", p.Name, cs.Name, w.Reason, w.Message)
			}
			if t := cs.LastTerminationState.Terminated; t != nil && !cs.Ready {
				return fmt.Sprintf("%s/%s: last exit %d (%s)", p.Name, cs.Name, t.ExitCode, t.Reason)
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				return fmt.Sprintf("%s: %s %s", p.Name, c.Reason, c.Message)
			}
		}
	}
	return ""
}

func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

func age(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := time.Since(t).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
