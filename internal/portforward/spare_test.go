package portforward

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestNextPod(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	served := pod("served", t0, true)
	older := pod("older", t0.Add(-time.Minute), false)
	next := pod("next", t0.Add(time.Minute), false)
	newest := pod("newest", t0.Add(2*time.Minute), false)
	pending := pod("pending", t0.Add(3*time.Minute), false)
	pending.Status.Phase = corev1.PodPending
	deleting := pod("deleting", t0.Add(4*time.Minute), false)
	now := metav1.NewTime(t0.Add(5 * time.Minute))
	deleting.DeletionTimestamp = &now
	set := func(ps ...*corev1.Pod) map[types.UID]*corev1.Pod {
		m := map[types.UID]*corev1.Pod{}
		for _, p := range ps {
			m[p.UID] = p
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		known  map[types.UID]*corev1.Pod
		served *corev1.Pod
		want   string
	}{
		{"the newest starting pod", set(served, next, newest), served, "newest"},
		{"none newer than the served one", set(served, older), served, ""},
		{"any while none is served", set(older), nil, "older"},
		{"not pending nor deleting ones", set(served, pending, deleting), served, ""},
		{"not Ready ones", set(served, pod("ready", t0.Add(time.Hour), true)), served, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if p := nextPod(tc.known, tc.served); p != nil {
				got = p.Name
			}
			if got != tc.want {
				t.Errorf("nextPod = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestForwarderDialsTheNextPodAhead: a rollout's new pod is dialed while it
// starts, the switch when it turns Ready reuses that connection, and a spare
// whose pod goes away before Ready is closed.
func TestForwarderDialsTheNextPodAhead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Add(-time.Hour)
	client := webClient(readyPod("web-1", t0))
	d := &fakeDialer{dials: map[string]int{}, last: map[string]*fakeConn{}}
	port := freePort(t)
	f, err := newForwarder(client, d, zaptest.NewLogger(t), Spec{Namespace: "ns", Kind: KindDeployment, Name: "web", Port: 8080, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	up := make(chan struct{})
	var once sync.Once
	go func() {
		done <- f.Run(ctx, func(s State) {
			if s.Up {
				once.Do(func() { close(up) })
			}
		})
	}()
	select {
	case <-up:
	case <-time.After(5 * time.Second):
		t.Fatal("the forward did not come up")
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	eventually(t, addr, "web-1:8080")

	dialed := func(pod string) (int, *fakeConn) {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.dials[pod], d.last[pod]
	}
	waitDialed := func(pod string) *fakeConn {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if n, c := dialed(pod); n > 0 {
				return c
			}
		}
		t.Fatalf("%s, running and not Ready, was not dialed ahead", pod)
		return nil
	}
	closed := func(c *fakeConn) bool {
		select {
		case <-c.closed:
			return true
		case <-time.After(2 * time.Second):
			return false
		}
	}

	pods := client.CoreV1().Pods("ns")
	starting := func(name string, created time.Time) *corev1.Pod {
		p := readyPod(name, created)
		p.Status.Conditions[0].Status = corev1.ConditionFalse
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// A new pod starts: dialed ahead, still not served.
	p2 := starting("web-2", t0.Add(time.Minute))
	c2 := waitDialed("web-2")
	if got := ask(t, addr); got != "web-1:8080" {
		t.Fatalf("served %q while web-2 was not Ready", got)
	}
	// It turns Ready: served over the connection dialed ahead.
	p2.Status.Conditions[0].Status = corev1.ConditionTrue
	if _, err := pods.UpdateStatus(ctx, p2, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, addr, "web-2:8080")
	if n, c := dialed("web-2"); n != 1 || c != c2 {
		t.Errorf("web-2 dialed %d times after turning Ready, want the one connection dialed ahead", n)
	}

	// A newer pod starts and goes away before it is Ready: its spare closes.
	starting("web-3", t0.Add(2*time.Minute))
	c3 := waitDialed("web-3")
	if err := pods.Delete(ctx, "web-3", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if !closed(c3) {
		t.Error("the spare connection to web-3 stayed open after the pod was deleted")
	}
	if got := ask(t, addr); got != "web-2:8080" {
		t.Errorf("served %q after web-3 went, want web-2", got)
	}

	// A spare still open when Run ends is closed with it.
	starting("web-4", t0.Add(3*time.Minute))
	c4 := waitDialed("web-4")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !closed(c4) {
		t.Error("the spare connection to web-4 stayed open after Run returned")
	}
}
