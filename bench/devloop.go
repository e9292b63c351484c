package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/devloop-dev/devloop/internal/events"
)

// Event is one line of `devloop -o json`: devloop's own event type, so the
// benchmark reads exactly the contract devloop writes.
type Event = events.Event

// Proc is a running devloop process whose JSON events are recorded.
type Proc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
	err    error

	mu     sync.Mutex
	events []Event
	notify chan struct{} // closed and replaced on every event
}

// startDevloop starts `devloop ARGS -o json` in dir.
func (b *Bench) startDevloop(dir string, args ...string) (*Proc, error) {
	args = append(args, "-o", "json")
	cmd := exec.Command(b.devloop, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("devloop stdout: %w", err)
	}
	p := &Proc{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{}), notify: make(chan struct{})}
	cmd.Stderr = &lockedWriter{w: p.stderr}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting devloop: %w", err)
	}
	b.track(p)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var e Event
			if json.Unmarshal(sc.Bytes(), &e) != nil {
				continue
			}
			p.mu.Lock()
			p.events = append(p.events, e)
			close(p.notify)
			p.notify = make(chan struct{})
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.done)
		p.mu.Lock()
		close(p.notify)
		p.notify = make(chan struct{})
		p.mu.Unlock()
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Events returns a copy of the events so far.
func (p *Proc) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Len is the number of events so far.
func (p *Proc) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// Exited reports whether the process ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stderr is what the process wrote on stderr (the last 4 KiB).
func (p *Proc) Stderr() string {
	s := p.stderr.String()
	if len(s) > 4096 {
		s = s[len(s)-4096:]
	}
	return s
}

// WaitFor waits until an event at index >= from matches, returning it and its
// index, or fails on timeout or process exit.
func (p *Proc) WaitFor(ctx context.Context, from int, timeout time.Duration, match func(Event) bool) (Event, int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i := from; i < len(p.events); i++ {
			if match(p.events[i]) {
				e := p.events[i]
				p.mu.Unlock()
				return e, i, nil
			}
		}
		from = len(p.events)
		ch := p.notify
		p.mu.Unlock()
		if p.Exited() {
			return Event{}, -1, fmt.Errorf("devloop exited (%v); stderr: %s", p.err, p.Stderr())
		}
		select {
		case <-ch:
		case <-deadline.C:
			return Event{}, -1, fmt.Errorf("no matching event within %s", timeout)
		case <-ctx.Done():
			return Event{}, -1, ctx.Err()
		}
	}
}

// Stop sends SIGINT, waits up to grace, then SIGKILLs the process group.
func (p *Proc) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Wait waits for the process to end on its own.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		p.Stop(5 * time.Second)
		return ctx.Err()
	}
}

// cpuSeconds is utime+stime of the process from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading stat: %w", err)
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+2:])
	// Fields after the command: state(0) ... utime(11) stime(12).
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks, nil
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// procStatusKB reads a kB field (VmHWM, VmRSS) of /proc/<pid>/status.
func procStatusKB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading status: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				return strconv.ParseFloat(f[1], 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// phaseSum sums the durations of done events of a phase within evs.
func phaseSum(evs []Event, phase string) float64 {
	var t int64
	for _, e := range evs {
		if e.Phase == phase && e.Status == "done" {
			t += e.DurationMs
		}
	}
	return float64(t)
}

// countStatus counts events of a phase with a status.
func countStatus(evs []Event, phase, status string) int {
	n := 0
	for _, e := range evs {
		if e.Phase == phase && e.Status == status {
			n++
		}
	}
	return n
}

// writes sums counts.writes of apply done/failed events.
func writes(evs []Event) int {
	n := 0
	for _, e := range evs {
		if e.Phase == "apply" && (e.Status == "done" || e.Status == "failed") {
			n += e.Counts["writes"]
		}
	}
	return n
}
