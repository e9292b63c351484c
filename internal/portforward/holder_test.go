package portforward

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"go.uber.org/zap"
)

func TestPortHolderFindsThisProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	pid, comm := portHolder("/proc", port)
	if pid != os.Getpid() {
		t.Fatalf("portHolder(%d) = pid %d (%s), want this test's pid %d", port, pid, comm, os.Getpid())
	}
	if comm == "" {
		t.Fatal("no command name")
	}
}

func TestRunFailsOnTakenPortNamingHolder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	f, err := newForwarder(nil, nil, zap.NewNop(), Spec{Namespace: "ns", Resource: "svc/web", Port: 80, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Run(context.Background(), nil)
	var inUse *PortInUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("Run on a taken port: %v, want a *PortInUseError", err)
	}
	if inUse.PID != os.Getpid() || !strings.Contains(err.Error(), "is in use by pid") {
		t.Fatalf("error %q does not name this process (pid %d)", err, os.Getpid())
	}
}

func TestPortHolderNothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if pid, _ := portHolder("/proc", port); pid != 0 {
		t.Fatalf("portHolder of a closed port = %d, want 0", pid)
	}
}
