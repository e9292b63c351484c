package status

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// onlyOldPodsLeft reports whether kstatus holds a Deployment back only for
// its old pods (reason ExtraPods: as many pods updated as the spec asks,
// more pods than that still counted), its controller having seen the
// latest spec.
func onlyOldPodsLeft(live *unstructured.Unstructured, res *kstatus.Result) bool {
	if live.GetKind() != "Deployment" || res.Status != kstatus.InProgressStatus {
		return false
	}
	if g, _, _ := unstructured.NestedInt64(live.Object, "status", "observedGeneration"); g < live.GetGeneration() {
		return false
	}
	for _, c := range res.Conditions {
		if c.Reason == "ExtraPods" {
			return true
		}
	}
	return false
}

// enoughReady reports whether at least spec.replicas (default 1) of the
// current revision's pods are Ready.
func enoughReady(live *unstructured.Unstructured, current []corev1.Pod) bool {
	want, found, _ := unstructured.NestedInt64(live.Object, "spec", "replicas")
	if !found {
		want = 1
	}
	ready := int64(0)
	for _, p := range current {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	return ready >= want
}
