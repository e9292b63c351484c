package portforward

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"go.uber.org/zap/zaptest"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// apiProxy is a TCP proxy in front of the real API server, so a test can
// break devloop's connections under it: cut them (as an API server restart
// or a load balancer does), refuse new ones (the API server down), or drop
// their packets (the network gone, nothing closed).
type apiProxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func startAPIProxy(t *testing.T, target string) *apiProxy {
	p := &apiProxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.stop)
	return p
}

func (p *apiProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

// cut closes every proxied connection (both sides).
func (p *apiProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// stop closes the listener and every connection: new ones are refused.
func (p *apiProxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	p.mu.Unlock()
	p.cut()
}

// start listens again on the same address.
func (p *apiProxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// throughProxy returns cfg pointed at the proxy; the server certificate is
// still checked against the API server's name.
func throughProxy(t *testing.T, cfg *rest.Config) (*rest.Config, *apiProxy) {
	u, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	p := startAPIProxy(t, u.Host)
	c := rest.CopyConfig(cfg)
	if c.ServerName == "" {
		c.ServerName = u.Hostname()
	}
	c.Host = "https://" + p.addr
	return c, p
}

// servedWithin polls url until it answers from a pod, and returns how long
// that took.
func servedWithin(t *testing.T, url string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var lastErr error
	for time.Since(start) < within {
		got, err := get(url)
		if err == nil && strings.HasPrefix(got, "hello from ") {
			return time.Since(start)
		}
		lastErr = err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not served within %v (last error %v)", url, within, lastErr)
	return 0
}

// TestEnvForwardSurvivesBrokenConnections breaks the forward's connection
// to the real API server under it, three ways, and checks the promise:
// recovered within 2 s of the API server being reachable again, and while
// it is not, devloop says so and a client is refused, never left hanging.
func TestEnvForwardSurvivesBrokenConnections(t *testing.T) {
	env := testenv.Require(t)
	direct, _ := env.Clients(t)
	cfg, proxy := throughProxy(t, direct)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := env.EchoImages(t)
	ns := env.Namespace(t, "pfout")
	env.Apply(t, ns, fmt.Sprintf(webManifest, 1, img))
	env.Kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=120s")

	port := quietPort(t)
	f, err := New(cfg, client, zaptest.NewLogger(t), Spec{Namespace: ns, Kind: KindService, Name: "web", Port: 80, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	st := &states{ch: make(chan State, 16)}
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, st.add) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	if s := st.next(t, 30*time.Second); !s.Up {
		t.Fatalf("first state %+v", s)
	}
	u := f.URL()
	addr := strings.TrimPrefix(u, "http://")
	servedWithin(t, u, 5*time.Second)

	// 1. Every connection to the API server cut: the next request is served
	// (re-dialed), the forward never went down.
	proxy.cut()
	cutAt := time.Now()
	took := servedWithin(t, u, 2*time.Second)
	t.Logf("TIMING connections cut -> served again in %v", took)

	// 2. The API server unreachable: down, reported, refused; back within
	// 2 s of it answering again.
	proxy.stop()
	s := st.next(t, 5*time.Second)
	if s.Up || !strings.Contains(s.Reason, "API server") {
		t.Fatalf("after the API server became unreachable: %+v, want down naming the API server", s)
	}
	t.Logf("down %v after the API server became unreachable: %s", time.Since(cutAt).Round(time.Millisecond), s.Reason)
	if !refused(addr) {
		t.Fatal("a connection while the API server is unreachable was accepted; want refused")
	}
	time.Sleep(3 * time.Second)
	if !refused(addr) {
		t.Fatal("3 s later a connection was accepted; want refused until the API server is back")
	}
	proxy.start()
	back := time.Now()
	took = servedWithin(t, u, 5*time.Second)
	t.Logf("TIMING API server reachable again -> served in %v", took)
	if took > 2*time.Second {
		t.Errorf("served %v after the API server was reachable again, want <= 2 s", took)
	}
	if s := st.next(t, 2*time.Second); !s.Up || s.Down <= 0 {
		t.Errorf("after recovery: %+v, want up with the outage's length", s)
	}
	_ = back

	// 3. The network gone without anything closing (packets dropped): the
	// forward must notice by itself, go down, and come back.
	proxyPort := addr2port(t, proxy.addr)
	rule := []string{"INPUT", "-i", "lo", "-p", "tcp", "--dport", strconv.Itoa(proxyPort), "-j", "DROP"}
	if err := exec.Command("iptables", append([]string{"-I"}, rule...)...).Run(); err != nil {
		t.Logf("iptables is not usable here (%v): the dropped-packets case is not run", err)
		return
	}
	dropped := true
	undrop := func() {
		if dropped {
			dropped = false
			if out, err := exec.Command("iptables", append([]string{"-D"}, rule...)...).CombinedOutput(); err != nil {
				t.Errorf("removing the iptables rule: %v\n%s", err, out)
			}
		}
	}
	t.Cleanup(undrop)
	dropAt := time.Now()
	s = st.next(t, 15*time.Second)
	if s.Up {
		t.Fatalf("after dropping the API server's packets: %+v, want down", s)
	}
	t.Logf("TIMING packets dropped -> forward down after %v: %s", time.Since(dropAt).Round(time.Millisecond), s.Reason)
	if !refused(addr) {
		t.Fatal("a connection while packets are dropped was accepted; want refused")
	}
	undrop()
	took = servedWithin(t, u, 5*time.Second)
	t.Logf("TIMING packets flowing again -> served in %v", took)
	if took > 2*time.Second {
		t.Errorf("served %v after the network came back, want <= 2 s", took)
	}
}

func addr2port(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
