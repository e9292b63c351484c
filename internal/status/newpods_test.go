package status

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynfake "k8s.io/client-go/dynamic/fake"
	kfake "k8s.io/client-go/kubernetes/fake"
)

// A rollout whose new pod is Ready while the old pod still counts (the
// controller has not scaled the old ReplicaSet down yet): ready with
// NewPodsReady, not ready without it, and never ready while the new pod
// is not.
func TestWaitNewPodsReady(t *testing.T) {
	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "dep-uid", Generation: 2,
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 2,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}},
	}
	isController := true
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "dep-uid", Controller: &isController}}
	rs := func(hash, rev string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash, Namespace: "ns", OwnerReferences: owner,
			Labels: map[string]string{"app": "web", "pod-template-hash": hash}, Annotations: map[string]string{"deployment.kubernetes.io/revision": rev}}}
	}
	pod := func(hash string, ready bool) *corev1.Pod {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web-" + hash + "-1", Namespace: "ns", Labels: map[string]string{"app": "web", "pod-template-hash": hash}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", ReadinessProbe: &corev1.Probe{}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}},
				ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: ready,
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}},
		}
	}
	depU := toU(t, dep, appsv1.SchemeGroupVersion.WithKind("Deployment"))
	wait := func(newReady, opt bool) error {
		core := kfake.NewClientset(rs("new", "2"), rs("old", "1"), pod("new", newReady), pod("old", true))
		dyn := dynfake.NewSimpleDynamicClient(runtime.NewScheme(), depU.DeepCopy())
		w := NewWaiter(dyn, testMapper(), core, zap.NewNop(), WaiterOptions{PollInterval: 10 * time.Millisecond, NewPodsReady: opt})
		return w.Wait(context.Background(), time.Now(), []*unstructured.Unstructured{depU}, 300*time.Millisecond, nil)
	}
	if err := wait(true, true); err != nil {
		t.Fatalf("new pod Ready, NewPodsReady: %v", err)
	}
	var te *TimeoutError
	if err := wait(true, false); !errors.As(err, &te) {
		t.Fatalf("without NewPodsReady the old pod must be gone first; got %v", err)
	}
	if err := wait(false, true); !errors.As(err, &te) {
		t.Fatalf("new pod not Ready counted ready; got %v", err)
	}
}
