package logs

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes/fake"
)

// TestDeletedPodForgotten: what was printed of a deleted pod's containers is
// dropped once its followers end (a long session would otherwise keep an
// entry for every container of every rollout), and kept while the pod lives.
func TestDeletedPodForgotten(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "app", UID: "u1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: "web", ContainerID: "containerd://abc",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}},
		}}},
	}
	remembered := func(s *Streamer) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.last["containerd://abc"]
		return ok
	}
	follow := func(s *Streamer) (*nsWatch, context.CancelFunc, chan struct{}) {
		n := &nsWatch{s: s, ns: "app", sel: labels.Everything(), w: &lineWriter{out: &safeBuffer{}}, pods: map[string]*podState{}}
		ctx, cancel := context.WithCancel(context.Background())
		n.update(ctx, pod)
		time.Sleep(200 * time.Millisecond) // the follower streams
		done := make(chan struct{})
		go func() {
			<-ctx.Done()
			n.wg.Wait()
			close(done)
		}()
		return n, cancel, done
	}
	wait := func(done chan struct{}) {
		t.Helper()
		select {
		case <-done:
		case <-time.After(goneGrace + 5*time.Second):
			t.Fatal("the follower did not end")
		}
	}

	// A Run that ends (a reload) keeps what it printed: the next one resumes.
	s := New(fake.NewClientset(pod), zap.NewNop())
	s.remember("containerd://abc", time.Now())
	_, cancel, done := follow(s)
	cancel()
	wait(done)
	if !remembered(s) {
		t.Fatal("a living pod's container was forgotten when its Run ended")
	}

	// A deleted pod's containers never come back: forgotten.
	n, cancel, done := follow(s)
	defer cancel()
	n.Deleted(context.Background(), pod)
	time.AfterFunc(goneGrace+time.Second, cancel)
	wait(done)
	if remembered(s) {
		t.Fatal("the deleted pod's container is still remembered")
	}
}
