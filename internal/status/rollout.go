package status

import (
	"context"
	"fmt"

	"go.uber.org/zap"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// The reads behind a diagnosis: the pods, claims, events and logs that say
// why a rollout cannot succeed (the decisions themselves are in
// diagnose.go, without I/O).

// diagnose returns a *RolloutError when the object's rollout has failed.
func (w *Waiter) diagnose(ctx context.Context, ref Ref, live *unstructured.Unstructured, res *kstatus.Result, snap *snapshot, st *waitState) error {
	ns := live.GetNamespace()
	if live.GetKind() == "PersistentVolumeClaim" && live.GetAPIVersion() == "v1" {
		return w.checkClaim(ctx, ref, ns, live.GetName(), st)
	}
	if res.Status == kstatus.FailedStatus && live.GetKind() == "Job" {
		e := &RolloutError{Object: ref, Reason: "JobFailed", Message: res.Message}
		pods, err := w.currentPods(ctx, live, snap)
		if err == nil {
			e.Pod, e.Container = failedJobPod(pods)
		}
		if e.Pod != "" {
			e.Events = w.events(ctx, st.began, ns, "Pod", e.Pod)
			e.LogTail = w.logTail(ctx, ns, e.Pod, e.Container, false)
		} else {
			e.Events = w.events(ctx, st.began, ns, "Job", live.GetName())
		}
		return e
	}
	pods, err := w.currentPods(ctx, live, snap)
	if err != nil {
		w.log.Debug("listing pods", zap.Stringer("object", ref), zap.Error(err))
		return nil
	}
	for i := range pods {
		p := &pods[i]
		if unscheduled(p) {
			// An unbound claim is the better explanation when there is one.
			for _, v := range p.Spec.Volumes {
				if v.PersistentVolumeClaim != nil {
					if err := w.checkClaim(ctx, ref, ns, v.PersistentVolumeClaim.ClaimName, st); err != nil {
						return err
					}
				}
			}
		}
		prob := diagnosePod(p, st.judge(w.opts.Graces))
		if prob == nil {
			continue
		}
		return w.podError(ctx, ref, p, prob, st)
	}
	if res.Status == kstatus.FailedStatus {
		e := &RolloutError{Object: ref, Reason: "Failed", Message: res.Message}
		if e.Pod, e.Container = failedJobPod(pods); e.Pod != "" {
			e.Events = w.events(ctx, st.began, ns, "Pod", e.Pod)
			e.LogTail = w.logTail(ctx, ns, e.Pod, e.Container, false)
		} else {
			e.Events = w.events(ctx, st.began, ns, live.GetKind(), live.GetName())
		}
		return e
	}
	return nil
}

// claimWarnings are the PVC events that mean it will not bind by itself.
var claimWarnings = map[string]bool{"ProvisioningFailed": true, "FailedBinding": true}

// checkClaim fails when a claim has stayed Pending past the grace with a
// provisioning or binding warning.
func (w *Waiter) checkClaim(ctx context.Context, ref Ref, ns, name string, st *waitState) error {
	pvc, err := w.core.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != "Pending" {
		return nil
	}
	if st.since("pvc/"+ns+"/"+name) < w.opts.ClaimGrace {
		return nil
	}
	list, err := w.core.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=" + name})
	if err != nil {
		return nil
	}
	for _, ev := range list.Items {
		if ev.Type == "Warning" && claimWarnings[ev.Reason] {
			return &RolloutError{Object: ref, Reason: "ClaimNotBound",
				Message: fmt.Sprintf("PersistentVolumeClaim %s is Pending: %s: %s", name, ev.Reason, ev.Message),
				Events:  w.events(ctx, st.began, ns, "PersistentVolumeClaim", name)}
		}
	}
	return nil
}
