package testenv

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Output is stdout and stderr together.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// RunDevloop runs the devloop binary in dir with the test's environment plus
// env ("NAME=value"; later entries win) in a process group of its own, and
// returns its exit code and output. It fails the test when the process
// outlives timeout (devloop must never hang: the group is killed) or its
// output shows a Go panic.
func RunDevloop(t testing.TB, dir string, env []string, timeout time.Duration, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, Binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := Result{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(start)}
	if ctx.Err() != nil {
		t.Fatalf("devloop %s did not finish within %s (hang?)\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), timeout, Tail(res.Stdout, 40), Tail(res.Stderr, 40))
	}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("devloop %s: %v", strings.Join(args, " "), err)
	}
	if out := res.Output(); strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Fatalf("devloop panicked (exit %d):\n%s", res.Code, Tail(out, 60))
	}
	return res
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Edit replaces the first old with new in the file at path; old must occur.
func Edit(t testing.TB, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
