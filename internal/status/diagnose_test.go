package status

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func podWith(cs ...corev1.ContainerStatus) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways},
		Status:     corev1.PodStatus{ContainerStatuses: cs},
	}
}

func waiting(name, reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "msg"}}}
}

func fixed(d time.Duration) func(string) time.Duration {
	return func(string) time.Duration { return d }
}

var graces = Graces{Unschedulable: 10 * time.Second, Config: 5 * time.Second}

func TestDiagnosePod(t *testing.T) {
	crash := waiting("web", "CrashLoopBackOff")
	crash.RestartCount = 1
	crash.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}
	restarting := corev1.ContainerStatus{Name: "web", RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}
	once := restarting
	once.RestartCount = 1
	unsched := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{
		{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available"}}}}
	init := podWith(waiting("web", "PodInitializing"))
	init.Status.InitContainerStatuses = []corev1.ContainerStatus{waiting("migrate", "CrashLoopBackOff")}

	cases := []struct {
		name      string
		pod       *corev1.Pod
		since     time.Duration
		reason    string
		container string
		previous  bool
	}{
		{"running", podWith(corev1.ContainerStatus{Name: "web", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}), 0, "", "", false},
		{"creating", podWith(waiting("web", "ContainerCreating")), time.Hour, "", "", false},
		{"crash loop", podWith(crash), 0, "CrashLoopBackOff", "web", true},
		{"init crash loop", init, 0, "CrashLoopBackOff", "migrate", true},
		{"restarting with errors", podWith(restarting), 0, "Error", "web", true},
		{"restarted once after an error", podWith(once), 0, "Error", "web", true},
		{"terminated with an error", podWith(corev1.ContainerStatus{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}}), 0, "Error", "web", false},
		{"terminated fine", podWith(corev1.ContainerStatus{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}), 0, "", "", false},
		{"image pull backoff", podWith(waiting("web", "ImagePullBackOff")), 0, "ImagePullBackOff", "web", false},
		{"err image pull", podWith(waiting("web", "ErrImagePull")), 0, "ErrImagePull", "web", false},
		{"never pull", podWith(waiting("web", "ErrImageNeverPull")), 0, "ErrImageNeverPull", "web", false},
		{"invalid name", podWith(waiting("web", "InvalidImageName")), 0, "InvalidImageName", "web", false},
		{"config error in grace", podWith(waiting("web", "CreateContainerConfigError")), time.Second, "", "", false},
		{"config error after grace", podWith(waiting("web", "CreateContainerConfigError")), 6 * time.Second, "CreateContainerConfigError", "web", false},
		{"unschedulable in grace", unsched, 2 * time.Second, "", "", false},
		{"unschedulable after grace", unsched, 11 * time.Second, "Unschedulable", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := diagnosePod(c.pod, fixed(c.since), graces)
			if c.reason == "" {
				if got != nil {
					t.Fatalf("want no problem, got %+v", got)
				}
				return
			}
			if got == nil || got.Reason != c.reason || got.Container != c.container || got.Previous != c.previous {
				t.Fatalf("got %+v, want reason %s container %s previous %v", got, c.reason, c.container, c.previous)
			}
		})
	}
	if got := diagnosePod(podWith(crash), fixed(0), graces); !strings.Contains(got.Message, "exited with code 3") {
		t.Errorf("crash message %q lacks the exit code", got.Message)
	}
}

func TestFailedJobPod(t *testing.T) {
	at := func(s int) metav1.Time { return metav1.NewTime(time.Unix(int64(s), 0)) }
	pods := []corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: at(10)}}}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, FinishedAt: at(20)}}}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "ok"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, FinishedAt: at(30)}}}}}},
	}
	if p, c := failedJobPod(pods); p != "b" || c != "c" {
		t.Errorf("failedJobPod = %s/%s, want b/c", p, c)
	}
}

func TestErrorsMessages(t *testing.T) {
	re := &RolloutError{Object: Ref{Group: "apps", Kind: "Deployment", Namespace: "ns", Name: "web"}, Pod: "web-1", Container: "web",
		Reason: "CrashLoopBackOff", Message: "exited with code 1", Events: []string{"Warning BackOff: back-off"}, LogTail: []string{"panic: boom"}}
	for _, want := range []string{"Deployment/ns/web", "CrashLoopBackOff", "web-1", "Warning BackOff", "panic: boom"} {
		if !strings.Contains(re.Error(), want) {
			t.Errorf("%q lacks %q", re.Error(), want)
		}
	}
	te := &TimeoutError{Timeout: time.Minute, NotReady: []ObjectStatus{{Ref: Ref{Kind: "StatefulSet", Namespace: "ns", Name: "db"}, Status: "InProgress", Message: "Ready: 0/1"}}}
	if !strings.Contains(te.Error(), "StatefulSet/ns/db: InProgress (Ready: 0/1)") {
		t.Errorf("timeout message %q", te.Error())
	}
}
