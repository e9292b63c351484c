package portforward

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func pod(name string, created time.Time, ready bool) *corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: k8stypes.UID("uid-" + name), CreationTimestamp: metav1.NewTime(created)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: st, LastTransitionTime: metav1.NewTime(created.Add(time.Second))}}},
	}
}

func TestNewestReady(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	old := pod("old", t0, true)
	mid := pod("mid", t0.Add(time.Minute), true)
	newNotReady := pod("new", t0.Add(2*time.Minute), false)
	deleting := pod("deleting", t0.Add(3*time.Minute), true)
	now := metav1.NewTime(t0.Add(4 * time.Minute))
	deleting.DeletionTimestamp = &now
	pending := pod("pending", t0.Add(5*time.Minute), true)
	pending.Status.Phase = corev1.PodPending

	for _, tc := range []struct {
		name string
		pods []*corev1.Pod
		want string
	}{
		{"newest ready wins", []*corev1.Pod{old, mid}, "mid"},
		{"order does not matter", []*corev1.Pod{mid, old}, "mid"},
		{"not ready skipped", []*corev1.Pod{old, mid, newNotReady}, "mid"},
		{"deleting skipped", []*corev1.Pod{old, deleting}, "old"},
		{"pending skipped", []*corev1.Pod{pending, old}, "old"},
		{"none ready", []*corev1.Pod{newNotReady, deleting}, ""},
		{"empty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newestReady(tc.pods)
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tc.want {
				t.Fatalf("newestReady = %q, want %q", name, tc.want)
			}
		})
	}

	// Same creation time: the one Ready later wins, then the name decides.
	a, b := pod("a", t0, true), pod("b", t0, true)
	a.Status.Conditions[0].LastTransitionTime = metav1.NewTime(t0.Add(time.Hour))
	if got := newestReady([]*corev1.Pod{a, b}); got.Name != "a" {
		t.Fatalf("tie on creation: got %s, want a (Ready later)", got.Name)
	}
}

func TestServiceTargetPort(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{
		{Port: 80, TargetPort: intstr.FromString("http")},
		{Port: 81, TargetPort: intstr.FromInt(9090)},
		{Port: 82},
		{Port: 53, Protocol: corev1.ProtocolUDP},
	}}}
	p := pod("p", time.Now(), true)
	for _, tc := range []struct {
		port    int
		want    int
		wantErr bool
	}{
		{80, 8080, false}, // named, mapped through the container port
		{81, 9090, false}, // numeric
		{82, 82, false},   // unset: same as the service port
		{53, 0, true},     // UDP
		{99, 0, true},     // no such service port
	} {
		target, err := servicePortTarget(svc, tc.port)
		if err == nil {
			var n int
			n, err = containerPort(p, target)
			if err == nil && n != tc.want {
				t.Errorf("port %d: got %d, want %d", tc.port, n, tc.want)
			}
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("port %d: err = %v, wantErr %v", tc.port, err, tc.wantErr)
		}
	}
	if _, err := containerPort(p, intstr.FromString("grpc")); err == nil {
		t.Error("a port name the pod does not define must fail")
	}
}

func TestSpecKinds(t *testing.T) {
	for _, k := range []string{KindService, KindDeployment, KindStatefulSet, KindPod} {
		if _, err := (Spec{Kind: k, Name: "web", Port: 80}).withDefaults(); err != nil {
			t.Errorf("kind %q: %v", k, err)
		}
	}
	for _, bad := range []Spec{{Kind: "job", Name: "x", Port: 80}, {Kind: "svc", Name: "x", Port: 80}, {Kind: KindService, Port: 80}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v must fail", bad)
		}
	}
}
