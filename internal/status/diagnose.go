package status

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// podProblem is what is wrong with a pod, decided without I/O.
type podProblem struct {
	Reason    string
	Message   string
	Container string
	// Previous is true when the log tail must come from the container's
	// previous instance (it restarts).
	Previous bool
}

var imageReasons = map[string]bool{
	"ImagePullBackOff": true, "ErrImagePull": true, "ErrImageNeverPull": true, "InvalidImageName": true,
}

var configReasons = map[string]bool{
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// Graces before a condition that may clear by itself counts as a failure.
type Graces struct {
	// Unschedulable: a pod with PodScheduled=False, reason Unschedulable.
	Unschedulable time.Duration
	// Config: CreateContainerConfigError and the like (a ConfigMap or
	// Secret applied a moment later).
	Config time.Duration
}

// diagnosePod returns the pod's failure, or nil while it may still become
// ready. since says how long this pod has been observed in its current
// state by the caller (for the graces).
func diagnosePod(pod *corev1.Pod, since func(key string) time.Duration, g Graces) *podProblem {
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil {
			switch {
			case w.Reason == "CrashLoopBackOff":
				return &podProblem{Reason: w.Reason, Message: crashMessage(cs, w.Message), Container: cs.Name, Previous: true}
			case imageReasons[w.Reason]:
				return &podProblem{Reason: w.Reason, Message: w.Message, Container: cs.Name}
			case configReasons[w.Reason] && since(pod.Name+"/"+cs.Name+"/"+w.Reason) >= g.Config:
				return &podProblem{Reason: w.Reason, Message: w.Message, Container: cs.Name}
			}
		}
		// Terminated with an error and restarting: fail at the first crash
		// rather than after the kubelet's back-off.
		if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
			if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
				return &podProblem{Reason: "Error", Message: fmt.Sprintf("exited with code %d (%s), restarting", t.ExitCode, t.Reason), Container: cs.Name}
			}
			if t := cs.LastTerminationState.Terminated; t != nil && t.ExitCode != 0 && cs.RestartCount >= 1 {
				return &podProblem{Reason: "Error", Message: crashMessage(cs, ""), Container: cs.Name, Previous: true}
			}
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
			since(pod.Name+"/unschedulable") >= g.Unschedulable {
			return &podProblem{Reason: "Unschedulable", Message: c.Message}
		}
	}
	return nil
}

func crashMessage(cs corev1.ContainerStatus, waiting string) string {
	msg := fmt.Sprintf("restarted %d times", cs.RestartCount)
	if t := cs.LastTerminationState.Terminated; t != nil {
		msg = fmt.Sprintf("exited with code %d (%s), %s", t.ExitCode, t.Reason, msg)
	}
	if waiting != "" {
		msg += ": " + waiting
	}
	return msg
}

// failedJobPod picks the container of a Job's pod that failed, for the log tail.
func failedJobPod(pods []corev1.Pod) (pod, container string) {
	var newest time.Time
	for _, p := range pods {
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			t := cs.State.Terminated
			if t == nil {
				t = cs.LastTerminationState.Terminated
			}
			if t != nil && t.ExitCode != 0 && !t.FinishedAt.Time.Before(newest) {
				newest, pod, container = t.FinishedAt.Time, p.Name, cs.Name
			}
		}
	}
	return pod, container
}

// unscheduled reports whether the scheduler has not placed the pod yet.
func unscheduled(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return true
		}
	}
	return false
}
