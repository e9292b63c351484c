package portforward

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
)

// keepAliveDialer's pods answer every line on a connection with their name
// and keep the connection open, as an HTTP server with keep-alive does; a
// line "slow" is answered after 400 ms.
type keepAliveDialer struct{}

func (keepAliveDialer) Dial(_ context.Context, _, pod string) (httpstream.Connection, error) {
	return &keepAliveConn{pod: pod, closed: make(chan bool)}, nil
}

type keepAliveConn struct {
	pod       string
	closeOnce sync.Once
	closed    chan bool
}

func (c *keepAliveConn) CreateStream(h http.Header) (httpstream.Stream, error) {
	if h.Get(corev1.StreamType) == corev1.StreamTypeError {
		return &fakeStream{Reader: strings.NewReader(""), h: h}, nil
	}
	local, remote := net.Pipe()
	go func() {
		defer remote.Close()
		r := bufio.NewReader(remote)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if strings.TrimSpace(line) == "slow" {
				time.Sleep(400 * time.Millisecond)
			}
			if _, err := io.WriteString(remote, c.pod+"\n"); err != nil {
				return
			}
		}
	}()
	return &fakeStream{Reader: local, conn: local, h: h}, nil
}

func (c *keepAliveConn) Close() error                       { c.closeOnce.Do(func() { close(c.closed) }); return nil }
func (c *keepAliveConn) CloseChan() <-chan bool             { return c.closed }
func (c *keepAliveConn) SetIdleTimeout(time.Duration)       {}
func (c *keepAliveConn) RemoveStreams(...httpstream.Stream) {}

// TestKeepAliveConnectionLeavesTheReplacedPod: a kept-alive connection to
// the old pod is ended between requests once a new pod is served, so the
// client's next request reaches the new pod; a request waiting for its
// answer is not cut.
func TestKeepAliveConnectionLeavesTheReplacedPod(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 := time.Now().Add(-time.Hour)
	client := webClient(readyPod("web-1", t0))
	port := freePort(t)
	f, err := newForwarder(client, keepAliveDialer{}, zaptest.NewLogger(t), Spec{Namespace: "ns", Kind: KindDeployment, Name: "web", Port: 8080, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	st := &states{ch: make(chan State, 16)}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, st.add) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	st.next(t, 5*time.Second)
	addr := "127.0.0.1:" + strconv.Itoa(port)

	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		return c, bufio.NewReader(c)
	}
	askOn := func(c net.Conn, r *bufio.Reader, line string) (string, error) {
		if _, err := io.WriteString(c, line+"\n"); err != nil {
			return "", err
		}
		s, err := r.ReadString('\n')
		return strings.TrimSpace(s), err
	}
	idle, idleR := dial()
	if got, err := askOn(idle, idleR, "hi"); err != nil || got != "web-1" {
		t.Fatalf("first answer %q, %v", got, err)
	}
	busy, busyR := dial()
	if got, err := askOn(busy, busyR, "hi"); err != nil || got != "web-1" {
		t.Fatalf("first answer %q, %v", got, err)
	}
	// A request is in flight on busy when the pod is replaced.
	if _, err := io.WriteString(busy, "slow\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := client.CoreV1().Pods("ns").Create(ctx, readyPod("web-2", t0.Add(time.Minute)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	switched := time.Now()
	// The idle kept-alive connection is ended: the client sees EOF and
	// reconnects, now to web-2.
	if _, err := idleR.ReadString('\n'); err == nil {
		t.Fatal("the idle connection to the replaced pod answered; want it ended")
	} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the idle connection to the replaced pod stayed open; want it ended")
	}
	t.Logf("idle connection to the replaced pod ended %v after the switch", time.Since(switched).Round(time.Millisecond))
	if took := time.Since(switched); took > time.Second {
		t.Errorf("ending the idle connection took %v", took)
	}
	// The request in flight got its answer from the old pod.
	if got, err := busyR.ReadString('\n'); err != nil || strings.TrimSpace(got) != "web-1" {
		t.Fatalf("the request in flight got %q, %v; want web-1's answer", got, err)
	}
	again, againR := dial()
	if got, err := askOn(again, againR, "hi"); err != nil || got != "web-2" {
		t.Fatalf("a new connection got %q, %v; want web-2", got, err)
	}
}
