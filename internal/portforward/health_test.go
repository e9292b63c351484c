package portforward

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
)

// flakyDialer is fakeDialer behind an API server that can go away: while
// down, dials fail and the open connections are closed.
type flakyDialer struct {
	fakeDialer
	mu    sync.Mutex
	down  bool
	conns []httpstream.Connection
}

func (d *flakyDialer) Dial(ctx context.Context, ns, pod string) (httpstream.Connection, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return nil, errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	}
	c, err := d.fakeDialer.Dial(ctx, ns, pod)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *flakyDialer) setDown(down bool) {
	d.mu.Lock()
	d.down = down
	conns := d.conns
	d.conns = nil
	d.mu.Unlock()
	if down {
		for _, c := range conns {
			_ = c.Close()
		}
	}
}

// states collects what Run reports.
type states struct {
	mu  sync.Mutex
	all []State
	ch  chan State
}

func (s *states) add(st State) {
	s.mu.Lock()
	s.all = append(s.all, st)
	s.mu.Unlock()
	s.ch <- st
}

func (s *states) next(t *testing.T, within time.Duration) State {
	t.Helper()
	select {
	case st := <-s.ch:
		return st
	case <-time.After(within):
		t.Fatalf("no state reported within %v", within)
		return State{}
	}
}

// refused says whether a connection to addr is refused at once (the
// promise while down: no hang).
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return true
	}
	_ = c.Close()
	return false
}

func TestForwarderRefusesWhileUnreachableAndRecovers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Add(-time.Hour)
	client := webClient(readyPod("web-1", t0))
	d := &flakyDialer{fakeDialer: fakeDialer{dials: map[string]int{}}}
	port := quietPort(t)
	f, err := newForwarder(client, d, zaptest.NewLogger(t), Spec{Namespace: "ns", Kind: KindDeployment, Name: "web", Port: 8080, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	f.waitReady = time.Second
	st := &states{ch: make(chan State, 16)}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, st.add) }()
	if s := st.next(t, 5*time.Second); !s.Up || s.Pod != "web-1" {
		t.Fatalf("first state %+v, want up on web-1", s)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	eventually(t, addr, "web-1:8080")

	// The API server goes away: its connections close under the forward.
	// Without any local connection, the forward notices and goes down.
	d.setDown(true)
	if s := st.next(t, 3*time.Second); s.Up || s.Reason == "" {
		t.Fatalf("after the API server went away: %+v, want down with a reason", s)
	}
	start := time.Now()
	if !refused(addr) {
		t.Fatal("a connection while the forward is down was accepted; want it refused")
	}
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("refusing took %v", took)
	}

	// Back: served again within 2 s, reported with the outage's length.
	back := time.Now()
	d.setDown(false)
	s := st.next(t, 3*time.Second)
	if !s.Up || s.Down <= 0 {
		t.Fatalf("after the API server came back: %+v, want up again with the outage's length", s)
	}
	eventually(t, addr, "web-1:8080")
	took := time.Since(back)
	t.Logf("served again %v after the API server came back", took)
	if took > 2*time.Second {
		t.Errorf("recovery took %v, want <= 2 s", took)
	}

	// No Ready pod for longer than waitReady: down (refused), then up when
	// one is Ready again.
	pods := client.CoreV1().Pods("ns")
	if err := pods.Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := st.next(t, 3*time.Second); s.Up || s.Reason == "" {
		t.Fatalf("with no Ready pod: %+v, want down", s)
	}
	if !refused(addr) {
		t.Fatal("a connection with no Ready pod for longer than the wait was accepted; want it refused")
	}
	if _, err := pods.Create(ctx, readyPod("web-2", t0.Add(time.Minute)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if s := st.next(t, 3*time.Second); !s.Up || s.Pod != "web-2" {
		t.Fatalf("with a Ready pod again: %+v, want up on web-2", s)
	}
	eventually(t, addr, "web-2:8080")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
