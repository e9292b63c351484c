package status

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.uber.org/zap"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	kfake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func testMapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	return m
}

func toU(t *testing.T, o runtime.Object, gvk schema.GroupVersionKind) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvk)
	return u
}

// A Deployment whose current ReplicaSet's pod crash-loops fails fast with the
// reason, events and log tail; a ConfigMap is ready at once.
func TestWaitFailsFastOnCrashLoop(t *testing.T) {
	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "dep-uid", Generation: 1,
			Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"}},
		Spec:   appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1},
	}
	isController := true
	owner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "dep-uid", Controller: &isController}}
	rsNew := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-new", Namespace: "ns", OwnerReferences: owner,
		Labels: map[string]string{"app": "web", "pod-template-hash": "new"}, Annotations: map[string]string{"deployment.kubernetes.io/revision": "2"}}}
	rsOld := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-old", Namespace: "ns", OwnerReferences: owner,
		Labels: map[string]string{"app": "web", "pod-template-hash": "old"}, Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"}}}
	crashing := func(name, hash string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": "web", "pod-template-hash": hash}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "web", RestartCount: 1,
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}}}
	}
	ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e1", Namespace: "ns"}, Type: "Warning", Reason: "BackOff",
		Message: "Back-off restarting failed container", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-new-1", Namespace: "ns"}}
	core := kfake.NewClientset(rsNew, rsOld, crashing("web-new-1", "new"), ev)
	cm := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]interface{}{"name": "c", "namespace": "ns"}}}
	depU := toU(t, dep, appsv1.SchemeGroupVersion.WithKind("Deployment"))
	dyn := dynfake.NewSimpleDynamicClient(runtime.NewScheme(), depU, cm)

	w := NewWaiter(dyn, testMapper(), core, zap.NewNop(), WaiterOptions{PollInterval: 10 * time.Millisecond})
	var seen []ObjectStatus
	start := time.Now()
	err := w.Wait(context.Background(), time.Now(), []*unstructured.Unstructured{depU, cm}, 5*time.Second, func(s ObjectStatus) { seen = append(seen, s) })
	var re *RolloutError
	if !errors.As(err, &re) {
		t.Fatalf("want a RolloutError, got %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("took %s to fail", time.Since(start))
	}
	if re.Reason != "CrashLoopBackOff" || re.Pod != "web-new-1" || re.Container != "web" {
		t.Errorf("got %+v", re)
	}
	if len(re.Events) != 1 || len(re.LogTail) == 0 {
		t.Errorf("events %v, log tail %v", re.Events, re.LogTail)
	}
	cmReady := false
	for _, s := range seen {
		if s.Ref.Kind == "ConfigMap" && s.Ready() {
			cmReady = true
		}
	}
	if !cmReady {
		t.Errorf("ConfigMap not reported ready: %v", seen)
	}

	// Only an old ReplicaSet's pod crashing: not a failure; times out listing the Deployment.
	core2 := kfake.NewClientset(rsNew, rsOld, crashing("web-old-1", "old"))
	w2 := NewWaiter(dyn, testMapper(), core2, zap.NewNop(), WaiterOptions{PollInterval: 10 * time.Millisecond})
	err = w2.Wait(context.Background(), time.Now(), []*unstructured.Unstructured{depU}, 200*time.Millisecond, nil)
	var te *TimeoutError
	if !errors.As(err, &te) || len(te.NotReady) != 1 || te.NotReady[0].Ref.Name != "web" || te.NotReady[0].Message == "" {
		t.Fatalf("want a TimeoutError naming web with a message, got %v", err)
	}
}

// Many objects of one resource and namespace are read with one list per
// tick, not one get each; a lone object is read with a get.
func TestWaitListsBigGroupsOnce(t *testing.T) {
	var objs []*unstructured.Unstructured
	var live []runtime.Object
	for i := range 20 {
		cm := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]interface{}{"name": fmt.Sprintf("c%d", i), "namespace": "ns",
				"labels": map[string]interface{}{"app.kubernetes.io/managed-by": "devloop", "n": fmt.Sprint(i)}}}}
		objs = append(objs, cm)
		live = append(live, cm.DeepCopy())
	}
	lone := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]interface{}{"name": "lone", "namespace": "other"}}}
	objs = append(objs, lone)
	live = append(live, lone.DeepCopy())
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{{Version: "v1", Resource: "configmaps"}: "ConfigMapList"}, live...)
	w := NewWaiter(dyn, testMapper(), kfake.NewClientset(), zap.NewNop(), WaiterOptions{PollInterval: 10 * time.Millisecond})
	if err := w.Wait(context.Background(), time.Now(), objs, 5*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	var lists, gets []string
	for _, a := range dyn.Actions() {
		switch a.GetVerb() {
		case "list":
			lists = append(lists, a.GetNamespace())
			if sel := a.(clienttesting.ListAction).GetListRestrictions().Labels.String(); sel != "app.kubernetes.io/managed-by=devloop" {
				t.Errorf("list selector %q, want the labels all objects share", sel)
			}
		case "get":
			gets = append(gets, a.GetNamespace()+"/"+a.(clienttesting.GetAction).GetName())
		}
	}
	if len(lists) != 1 || lists[0] != "ns" || len(gets) != 1 || gets[0] != "other/lone" {
		t.Fatalf("lists %v, gets %v; want one list in ns and one get of other/lone", lists, gets)
	}
}
