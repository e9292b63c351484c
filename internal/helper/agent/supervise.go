package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a stopped process gets between SIGTERM and SIGKILL.
const stopGrace = 5 * time.Second

// supervisor runs one process and stops and starts it on request. The
// container lives as long as the supervisor, not the process: a process that
// exits (or fails to start) waits for the next restart.
type supervisor struct {
	argv   []string
	stderr io.Writer

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when cmd exited
	code     int           // the last exit code
	stopping bool          // stop asked cmd to end: its exit is no news
}

// supervise runs argv under a supervisor listening on sock until SIGTERM or
// SIGINT, which stop the process; it returns the process's last exit code.
func supervise(argv []string, sock string, stderr io.Writer) int {
	return superviseWith(&supervisor{argv: argv, stderr: stderr}, sock)
}

func superviseWith(s *supervisor, sock string) int {
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintln(s.stderr, "devloop-helper: listening:", err)
		return 1
	}
	defer ln.Close()
	if err := s.start(); err != nil {
		fmt.Fprintln(s.stderr, "devloop-helper:", err)
	}
	go s.serve(ln)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.code
}

func (s *supervisor) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go s.handle(c)
	}
}

// handle answers one request line: stop, start or restart; the answer is
// "ok" or "error: ...".
func (s *supervisor) handle(c net.Conn) {
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	var rerr error
	switch strings.TrimSpace(line) {
	case "stop":
		s.stop()
	case "start":
		rerr = s.start()
	case "restart":
		s.stop()
		rerr = s.start()
	default:
		rerr = fmt.Errorf("unknown request %q", strings.TrimSpace(line))
	}
	if rerr != nil {
		fmt.Fprintf(c, "error: %v\n", rerr)
		return
	}
	fmt.Fprintln(c, "ok")
}

// start starts the process unless it runs already.
func (s *supervisor) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.argv[0], err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		err := cmd.Wait()
		s.mu.Lock()
		asked := s.stopping
		s.code = exitCode(err)
		if asked {
			s.code = 0
		}
		if s.cmd == cmd {
			s.cmd = nil
		}
		s.mu.Unlock()
		if err != nil && !asked {
			fmt.Fprintf(s.stderr, "devloop-helper: %s exited: %v (the next sync restarts it)\n", s.argv[0], err)
		}
		close(done)
	}()
	return nil
}

// stop sends SIGTERM to the process group, then SIGKILL after stopGrace,
// and waits until the process exited.
func (s *supervisor) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.stopping = cmd != nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	defer func() {
		s.mu.Lock()
		s.stopping = false
		s.mu.Unlock()
	}()
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode()
	default:
		return 1
	}
}

// request sends one request to the supervisor listening on sock.
func request(sock, what string) error {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return fmt.Errorf("reaching the process supervisor (is the container's command devloop-helper run?): %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(stopGrace + 5*time.Second))
	if _, err := fmt.Fprintln(c, what); err != nil {
		return fmt.Errorf("asking for %s: %w", what, err)
	}
	answer, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("asking for %s: %w", what, err)
	}
	if a := strings.TrimSpace(answer); a != "ok" {
		return fmt.Errorf("%s: %s", what, strings.TrimPrefix(a, "error: "))
	}
	return nil
}
