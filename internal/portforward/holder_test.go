package portforward

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
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
	f, err := newForwarder(nil, nil, zap.NewNop(), Spec{Namespace: "ns", Kind: KindService, Name: "web", Port: 80, LocalPort: port})
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

func TestRunNamesAnotherProcessHoldingThePort(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	port := freePort(t)
	cmd := exec.Command(py, "-c", fmt.Sprintf(
		"import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',%d))\ns.listen()\nprint('ok',flush=True)\ntime.sleep(60)", port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make([]byte, 3)
	if _, err := io.ReadFull(out, line); err != nil {
		t.Fatalf("python3 did not start listening: %v", err)
	}
	f, err := newForwarder(nil, nil, zap.NewNop(), Spec{Namespace: "ns", Kind: KindService, Name: "web", Port: 80, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	err = f.Run(context.Background(), nil)
	want := fmt.Sprintf("127.0.0.1:%d is in use by pid %d (python3)", port, cmd.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
}
