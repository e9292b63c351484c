package portforward

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/fake"
)

// fakeDialer connects to in-memory pods that answer each connection with
// their name and port.
type fakeDialer struct {
	mu    sync.Mutex
	dials map[string]int
	last  map[string]*fakeConn // each pod's last connection, when not nil
}

func (d *fakeDialer) Dial(_ context.Context, _, pod string) (httpstream.Connection, error) {
	c := &fakeConn{pod: pod, closed: make(chan bool)}
	d.mu.Lock()
	d.dials[pod]++
	if d.last != nil {
		d.last[pod] = c
	}
	d.mu.Unlock()
	return c, nil
}

type fakeConn struct {
	pod       string
	closeOnce sync.Once
	closed    chan bool
}

func (c *fakeConn) CreateStream(h http.Header) (httpstream.Stream, error) {
	if h.Get(corev1.StreamType) == corev1.StreamTypeError {
		return &fakeStream{Reader: strings.NewReader(""), h: h}, nil
	}
	local, remote := net.Pipe()
	go func() {
		_, _ = io.WriteString(remote, c.pod+":"+h.Get(corev1.PortHeader))
		_ = remote.Close()
	}()
	return &fakeStream{Reader: local, conn: local, h: h}, nil
}

func (c *fakeConn) Close() error                       { c.closeOnce.Do(func() { close(c.closed) }); return nil }
func (c *fakeConn) CloseChan() <-chan bool             { return c.closed }
func (c *fakeConn) SetIdleTimeout(time.Duration)       {}
func (c *fakeConn) RemoveStreams(...httpstream.Stream) {}

type fakeStream struct {
	io.Reader
	conn net.Conn
	h    http.Header
}

func (s *fakeStream) Write(p []byte) (int, error) {
	if s.conn == nil {
		return len(p), nil
	}
	return s.conn.Write(p)
}
func (s *fakeStream) Close() error         { return nil }
func (s *fakeStream) Reset() error         { return s.closeConn() }
func (s *fakeStream) Headers() http.Header { return s.h }
func (s *fakeStream) Identifier() uint32   { return 0 }
func (s *fakeStream) closeConn() error {
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

func readyPod(name string, created time.Time) *corev1.Pod {
	p := pod(name, created, true)
	p.Labels = map[string]string{"app": "web"}
	return p
}

// webClient is a fake API holding deployment ns/web (selector app=web) and pods.
func webClient(pods ...*corev1.Pod) *fake.Clientset {
	objs := []runtime.Object{&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}}}
	for _, p := range pods {
		objs = append(objs, p)
	}
	return fake.NewSimpleClientset(objs...)
}

func ask(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c)
	return string(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// quietPort returns a free port below the kernel's ephemeral range, for
// tests that assert a connection is refused while the forward is down: a
// port from that range, once the forward closes it, can be handed to any
// other process's listen on port 0 or used as the source port of a
// connect to itself (CI saw a dial to a closed forward's port succeed).
func quietPort(t *testing.T) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	if low <= 11000 {
		return freePort(t)
	}
	for i := 0; i < 100; i++ {
		p := 10000 + rand.IntN(low-11000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			_ = ln.Close()
			return p
		}
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

// eventually asks until the answer is want, within the 2 s a forward has to
// follow a change, and returns how long it took.
func eventually(t *testing.T, addr, want string) time.Duration {
	const within = 2 * time.Second
	t.Helper()
	start := time.Now()
	for {
		got := ask(t, addr)
		if got == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("after %v the answer is %q, want %q", within, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestForwarderFollowsPodsOnOneListener(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Add(-time.Hour)
	client := webClient(readyPod("web-1", t0))
	d := &fakeDialer{dials: map[string]int{}}
	port := freePort(t)
	f, err := newForwarder(client, d, zaptest.NewLogger(t), Spec{Namespace: "ns", Kind: KindDeployment, Name: "web", Port: 8080, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	f.waitReady = 3 * time.Second
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- f.Run(ctx, func(s State) {
			if s.Up && s.Down == 0 {
				urls <- s.URL
			}
		})
	}()
	select {
	case u := <-urls:
		if u != "http://127.0.0.1:"+strconv.Itoa(port) {
			t.Fatalf("onReady URL %q", u)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("onReady not called")
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	eventually(t, addr, "web-1:8080")

	// A newer pod becomes Ready: it takes over.
	pods := client.CoreV1().Pods("ns")
	if _, err := pods.Create(ctx, readyPod("web-2", t0.Add(time.Minute)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, addr, "web-2:8080")
	t.Logf("switched to a newer Ready pod in %v", took)

	// The pod goes away with no other Ready: a connection made now waits
	// for the next Ready pod instead of being refused.
	if err := pods.Delete(ctx, "web-2", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	go func() {
		time.Sleep(500 * time.Millisecond)
		_, _ = pods.Create(ctx, readyPod("web-3", t0.Add(2*time.Minute)), metav1.CreateOptions{})
	}()
	if got := ask(t, addr); got != "web-3:8080" {
		t.Fatalf("a connection made while no pod was Ready got %q, want web-3:8080", got)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		t.Fatal("the listener is still open after Run returned")
	}
}
