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

// judging is a judge of a deploy that began at began, with every condition
// observed for since.
func judging(began time.Time, since time.Duration) judge {
	return judge{began: began, since: fixed(since), graces: graces}
}

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
			got := diagnosePod(c.pod, judging(time.Now(), c.since))
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
	if got := diagnosePod(podWith(crash), judging(time.Now(), 0)); !strings.Contains(got.Message, "exited with code 3") {
		t.Errorf("crash message %q lacks the exit code", got.Message)
	}
}

// A pod's past is not this deploy's failure: old restarts of a container
// that is Ready, terminations from before the deploy and the kills of a
// node or sandbox restart pass; a crash after the deploy began fails.
func TestDiagnosePodJudgesThisDeployOnly(t *testing.T) {
	began := time.Date(2026, 5, 1, 12, 0, 0, 500e6, time.UTC)
	at := func(d time.Duration) metav1.Time { return metav1.NewTime(began.Add(d).Truncate(time.Second)) }
	restarted := func(ready bool, running bool, exit int32, reason string, finished metav1.Time) corev1.ContainerStatus {
		cs := corev1.ContainerStatus{Name: "store", Ready: ready, RestartCount: 3,
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: reason, FinishedAt: finished}}}
		if running {
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: finished}
		} else {
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
		}
		return cs
	}
	sandboxAt := func(p *corev1.Pod, when metav1.Time) *corev1.Pod {
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{
			Type: corev1.PodReadyToStartContainers, Status: corev1.ConditionTrue, LastTransitionTime: when})
		return p
	}
	terminatedNow := func(exit int32, reason string, finished metav1.Time) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: "store", RestartCount: 1,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Reason: reason, FinishedAt: finished}}}
	}
	backoff := waiting("store", "CrashLoopBackOff")
	backoff.RestartCount = 4
	backoff.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: at(-time.Hour)}

	cases := []struct {
		name   string
		pod    *corev1.Pod
		reason string
	}{
		{"ready with old restarts", podWith(restarted(true, true, 255, "Unknown", at(-52*time.Minute))), ""},
		{"ready after a crash of this deploy", podWith(restarted(true, true, 1, "Error", at(2*time.Second))), ""},
		{"old crash, running, not ready yet", podWith(restarted(false, true, 1, "Error", at(-time.Minute))), ""},
		{"old crash, being recreated", podWith(restarted(false, false, 137, "Error", at(-time.Hour))), ""},
		{"crash in the second the deploy began", podWith(restarted(false, true, 1, "Error", at(0))), "Error"},
		{"crash after the deploy began", podWith(restarted(false, true, 2, "Error", at(3*time.Second))), "Error"},
		{"runtime lost the container during the deploy", podWith(restarted(false, true, 255, "Unknown", at(3*time.Second))), ""},
		{"killed with its sandbox during the deploy", sandboxAt(podWith(restarted(false, true, 137, "Error", at(3*time.Second))), at(5*time.Second)), ""},
		{"crash after the sandbox started", sandboxAt(podWith(restarted(false, true, 1, "Error", at(3*time.Second))), at(-time.Minute)), "Error"},
		{"terminated before the deploy", podWith(terminatedNow(137, "Error", at(-10*time.Minute))), ""},
		{"terminated during the deploy", podWith(terminatedNow(3, "Error", at(time.Second))), "Error"},
		{"crash loop whatever its age", podWith(backoff), "CrashLoopBackOff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := diagnosePod(c.pod, judging(began, 0))
			if c.reason == "" {
				if got != nil {
					t.Fatalf("want no problem, got %+v", got)
				}
				return
			}
			if got == nil || got.Reason != c.reason {
				t.Fatalf("got %+v, want reason %s", got, c.reason)
			}
		})
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

func TestRecentEventsLeaveOutThePast(t *testing.T) {
	began := time.Date(2026, 5, 1, 12, 0, 0, 700e6, time.UTC)
	ev := func(reason string, d time.Duration) corev1.Event {
		return corev1.Event{Reason: reason, LastTimestamp: metav1.NewTime(began.Add(d).Truncate(time.Second))}
	}
	evs := []corev1.Event{ev("Started", 2*time.Second), ev("BackOff", -time.Hour), ev("Pulled", 0), ev("Killing", -time.Minute), {Reason: "Untimed"}}
	kept, older := recentEvents(evs, began, 10)
	var reasons []string
	for _, e := range kept {
		reasons = append(reasons, e.Reason)
	}
	if got := strings.Join(reasons, ","); got != "Untimed,Pulled,Started" || older != 2 {
		t.Errorf("kept %s and %d older, want Untimed,Pulled,Started and 2 older", got, older)
	}
	if kept, _ := recentEvents(evs, began, 1); len(kept) != 1 || kept[0].Reason != "Started" {
		t.Errorf("with a limit of 1 kept %v, want the newest", kept)
	}
}
