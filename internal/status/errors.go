// Package status waits until applied objects are ready, using kstatus
// (sigs.k8s.io/cli-utils) for every kind, and explains rollouts that fail:
// crash loops, images that cannot be pulled, failed Jobs, unschedulable pods
// and claims that cannot bind, with the pod's events and the failing
// container's last log lines.
package status

import (
	"fmt"
	"strings"
	"time"
)

// Ref names one object.
type Ref struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r Ref) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// ObjectStatus is the readiness of one object, as kstatus computes it.
type ObjectStatus struct {
	Ref Ref `json:"ref"`
	// Status is kstatus's: Current, InProgress, Failed, Terminating, NotFound, Unknown.
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// Ready reports whether the object is ready.
func (s ObjectStatus) Ready() bool { return s.Status == "Current" }

// RolloutError is a rollout that cannot succeed without a change: the user's
// experience depends on its fields (reason, events, log tail).
type RolloutError struct {
	// Object is the applied object whose rollout failed.
	Object Ref
	// Pod and Container locate the failure when a pod is at fault.
	Pod       string
	Container string
	// Reason is short: CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
	// ErrImageNeverPull, InvalidImageName, JobFailed, Unschedulable,
	// ClaimNotBound, CreateContainerConfigError, Failed, Error (a container
	// that exited with an error and is restarting).
	Reason  string
	Message string
	// Events are the pod's (or claim's) recent events, oldest first.
	Events []string
	// LogTail holds the failing container's last log lines (its previous
	// instance when it restarts).
	LogTail []string
}

func (e *RolloutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Object, e.Reason)
	if e.Pod != "" {
		fmt.Fprintf(&b, " (pod %s", e.Pod)
		if e.Container != "" {
			fmt.Fprintf(&b, ", container %s", e.Container)
		}
		b.WriteString(")")
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if len(e.Events) > 0 {
		b.WriteString("\n  events:")
		for _, ev := range e.Events {
			b.WriteString("\n    " + ev)
		}
	}
	if len(e.LogTail) > 0 {
		fmt.Fprintf(&b, "\n  last %d log lines:", len(e.LogTail))
		for _, l := range e.LogTail {
			b.WriteString("\n    " + l)
		}
	}
	return b.String()
}

// TimeoutError lists what was not ready when the wait timed out.
type TimeoutError struct {
	Timeout  time.Duration
	NotReady []ObjectStatus
}

func (e *TimeoutError) Error() string {
	parts := make([]string, len(e.NotReady))
	for i, s := range e.NotReady {
		parts[i] = fmt.Sprintf("%s: %s", s.Ref, s.Status)
		if s.Message != "" {
			parts[i] += " (" + s.Message + ")"
		}
	}
	return fmt.Sprintf("not ready after %s: %s", e.Timeout, strings.Join(parts, "; "))
}
