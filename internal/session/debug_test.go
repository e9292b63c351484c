package session

import (
	"net"
	"strconv"
	"testing"

	"github.com/devloop-dev/devloop/internal/debug"
	"github.com/devloop-dev/devloop/internal/portforward"
)

func TestDebugLocalPortStable(t *testing.T) {
	f := &Forwards{}
	// The pod's port taken on this machine: another one, kept after.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	busy := l.Addr().(*net.TCPAddr).Port
	p1, err := f.debugLocalPort("ns/deployment/web/app", busy)
	if err != nil || p1 == busy || p1 == 0 {
		t.Fatalf("port %d, %v (the pod's port %d is taken here)", p1, err, busy)
	}
	if p2, _ := f.debugLocalPort("ns/deployment/web/app", busy); p2 != p1 {
		t.Errorf("the same forward moved from %d to %d", p1, p2)
	}
	if p3, _ := f.debugLocalPort("ns/deployment/api/app", p1); p3 == p1 {
		t.Errorf("two forwards share local port %d", p1)
	}
}

func TestDebugEvent(t *testing.T) {
	d := debug.Forward{Kind: "deployment", Name: "web", Container: "app", Artifact: "web", Runtime: debug.Go, Protocol: "dap", Port: 56268}
	e := debugEvent(d, 40000, portforward.State{Up: true, Pod: "web-1"})
	if e.Phase != "debug" || e.Status != "done" || e.Pod != "web-1" || e.Address != "127.0.0.1:"+strconv.Itoa(40000) ||
		e.LocalPort != 40000 || e.Runtime != "go" || e.Protocol != "dap" || e.Container != "app" || e.Artifact != "web" {
		t.Errorf("event %+v", e)
	}
	if e := debugEvent(d, 40000, portforward.State{Reason: "no Ready pod"}); e.Status != "failed" {
		t.Errorf("down: %+v", e)
	}
}
