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

// judge is what a diagnosis knows of the wait it serves.
type judge struct {
	// began is when this deploy began (its apply): what the pods did
	// before belongs to an earlier run, a node restart or another tool.
	began time.Time
	// since says how long a condition has been observed by this wait (for
	// the graces).
	since  func(key string) time.Duration
	graces Graces
}

// diagnosePod returns the pod's failure, or nil while it may still become
// ready. Only this deploy is judged: a Ready container is never a failure,
// and a termination counts when it finished after the deploy began and was
// not the node's or the pod sandbox's restart.
func diagnosePod(pod *corev1.Pod, j judge) *podProblem {
	statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil {
			switch {
			case w.Reason == "CrashLoopBackOff":
				return &podProblem{Reason: w.Reason, Message: crashMessage(cs, w.Message), Container: cs.Name, Previous: true}
			case imageReasons[w.Reason]:
				return &podProblem{Reason: w.Reason, Message: w.Message, Container: cs.Name}
			case configReasons[w.Reason] && j.since(pod.Name+"/"+cs.Name+"/"+w.Reason) >= j.graces.Config:
				return &podProblem{Reason: w.Reason, Message: w.Message, Container: cs.Name}
			}
		}
		if cs.Ready || pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			continue
		}
		// Terminated with an error and restarting: fail at the first crash
		// of this deploy rather than after the kubelet's back-off.
		if t := cs.State.Terminated; t != nil && j.crashed(pod, t) {
			return &podProblem{Reason: "Error", Message: fmt.Sprintf("exited with code %d (%s), restarting", t.ExitCode, t.Reason), Container: cs.Name}
		}
		if t := cs.LastTerminationState.Terminated; t != nil && cs.RestartCount >= 1 && j.crashed(pod, t) {
			return &podProblem{Reason: "Error", Message: crashMessage(cs, ""), Container: cs.Name, Previous: true}
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
			j.since(pod.Name+"/unschedulable") >= j.graces.Unschedulable {
			return &podProblem{Reason: "Unschedulable", Message: c.Message}
		}
	}
	return nil
}

// crashed reports whether a termination is a crash of this deploy: a
// non-zero exit that finished after the deploy began (to the second: the
// kubelet reports whole seconds), not reported Unknown (the runtime lost
// the container, as at a node restart: exit 255) and not followed by a new
// sandbox for the pod (the node or the sandbox restarted under it: the
// kubelet kills such containers, exit 137). A termination without a time
// counts: nothing says it is old.
func (j judge) crashed(pod *corev1.Pod, t *corev1.ContainerStateTerminated) bool {
	if t.ExitCode == 0 || t.Reason == "Unknown" {
		return false
	}
	if t.FinishedAt.IsZero() {
		return true
	}
	finished := t.FinishedAt.Time
	if finished.Before(j.began.Truncate(time.Second)) {
		return false
	}
	return !sandboxRenewedAfter(pod, finished)
}

// sandboxRenewedAfter reports whether the pod's sandbox became ready again
// after t (its PodReadyToStartContainers condition turned True later):
// what ended at t ended with the old sandbox.
func sandboxRenewedAfter(pod *corev1.Pod, t time.Time) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReadyToStartContainers && c.Status == corev1.ConditionTrue {
			return c.LastTransitionTime.After(t)
		}
	}
	return false
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
