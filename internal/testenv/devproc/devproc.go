// Package devproc drives devloop as a child process: it starts
// `devloop ... -o json` in a directory (in a process group of its own),
// records the JSON events devloop writes on stdout as devloop's own
// events.Event, keeps its stderr, waits for events, and stops it with SIGINT
// and then SIGKILL. The end-to-end tests (test/dev, test/run, test/faults,
// test/soak) and the benchmark (bench) all drive devloop through it, so the
// package also holds the small helpers they share: free ports, HTTP polling,
// edits to a copied example and /proc readings.
package devproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/events"
)

// Event is one event of devloop's `-o json` output: devloop's own
// events.Event, and when the driver read it. Its JSON form is the
// events.Event's.
type Event struct {
	events.Event

	// Seen is when the driver read the line (zero for ParseEvents).
	Seen time.Time `json:"-"`
}

func (e Event) String() string {
	s := e.Phase + " " + e.Status
	for _, f := range []string{e.Artifact, e.Object, e.URL, e.Message} {
		if f != "" {
			s += " " + f
		}
	}
	if e.Cycle != 0 {
		s += fmt.Sprintf(" (cycle %d)", e.Cycle)
	}
	return s
}

// Is reports whether the event has this phase and status.
func (e Event) Is(phase, status string) bool { return e.Phase == phase && e.Status == status }

// ParseEvent decodes one line of `-o json` output; ok is false when the line
// is not a JSON object with a phase.
func ParseEvent(line string) (e Event, ok bool) { return parseEvent([]byte(line)) }

func parseEvent(line []byte) (Event, bool) {
	var e Event
	if err := json.Unmarshal(line, &e); err != nil || e.Phase == "" {
		return Event{}, false
	}
	return e, true
}

// ParseEvents decodes the whole stdout of a finished `devloop ... -o json`,
// skipping blank lines. A line that is not JSON is an error: stdout of
// -o json holds events only.
func ParseEvents(stdout string) ([]Event, error) {
	var evs []Event
	for _, line := range strings.Split(stdout, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return evs, fmt.Errorf("stdout line %q is not a JSON event: %w", line, err)
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// Command is what Launch runs.
type Command struct {
	Binary string   // the devloop binary
	Dir    string   // its working directory
	Args   []string // its arguments, -o json among them
	// Stderr, when set, also receives what the process writes on stderr
	// (the Proc keeps all of it either way).
	Stderr io.Writer
	// Env adds NAME=value variables to the test's environment (later win).
	Env []string
}

// Proc is a running (or ended) devloop whose events are recorded.
type Proc struct {
	// Started is when the process started.
	Started time.Time

	cmd    *exec.Cmd
	stderr LockedBuffer
	done   chan struct{} // closed once the process has ended and been reaped

	mu     sync.Mutex
	events []Event
	text   []string      // stdout lines that were not events
	notify chan struct{} // closed and replaced at every new event and at exit
	exited bool
	code   int   // exit code, -1 when a signal ended the process
	err    error // cmd.Wait's
	exitAt time.Time
}

// Launch starts c in a process group of its own and records its events
// until it ends. The caller stops it (Stop, Wait).
func Launch(c Command) (*Proc, error) {
	cmd := exec.Command(c.Binary, c.Args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &Proc{cmd: cmd, notify: make(chan struct{}), done: make(chan struct{})}
	cmd.Stderr = &p.stderr
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(&p.stderr, c.Stderr)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("devloop stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting devloop %s: %w", strings.Join(c.Args, " "), err)
	}
	p.Started = time.Now()
	go p.read(stdout)
	return p, nil
}

// Start is Launch for a test: it runs binary with args in dir, fails the
// test if that cannot start, and at the end of the test stops the process
// (SIGINT, and SIGKILL after 3 minutes, which fails the test).
func Start(t testing.TB, binary, dir string, args ...string) *Proc {
	t.Helper()
	p, err := Launch(Command{Binary: binary, Dir: dir, Args: args})
	if err != nil {
		t.Fatalf("devproc: %v", err)
	}
	t.Cleanup(func() {
		if p.Stop(3 * time.Minute) {
			t.Errorf("devproc: devloop did not exit within 3m of SIGINT; killed")
		}
	})
	return p
}

// read records the events of stdout until it closes, then reaps the process.
func (p *Proc) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		e, ok := parseEvent(sc.Bytes())
		p.mu.Lock()
		if ok {
			e.Seen = time.Now()
			p.events = append(p.events, e)
			p.wakeLocked()
		} else {
			p.text = append(p.text, sc.Text())
		}
		p.mu.Unlock()
	}
	// After a line too long for the scanner: keep the pipe flowing.
	_, _ = io.Copy(io.Discard, stdout)
	err := p.cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	p.mu.Lock()
	p.exited, p.code, p.err, p.exitAt = true, code, err, time.Now()
	p.wakeLocked()
	p.mu.Unlock()
	close(p.done)
}

// wakeLocked wakes the waiters of WaitFor; p.mu is held.
func (p *Proc) wakeLocked() {
	close(p.notify)
	p.notify = make(chan struct{})
}

// Pid is the process id (also its process group id).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process (not to its group).
func (p *Proc) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("devproc: signal %v: %v", sig, err)
	}
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// WaitExit waits up to timeout for the process to end and returns its exit
// code (-1 when a signal ended it) and whether it ended.
func (p *Proc) WaitExit(timeout time.Duration) (code int, ok bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		select {
		case <-p.done: // ended as the time ran out (or timeout was 0)
		default:
			return 0, false
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.code, true
}

// Wait waits for the process to end on its own and returns what
// exec.Cmd.Wait returned (nil for exit code 0). When ctx ends first it stops
// the process (Stop with 5 s of grace) and returns ctx.Err().
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.Err()
	case <-ctx.Done():
		p.Stop(5 * time.Second)
		return ctx.Err()
	}
}

// Err is what exec.Cmd.Wait returned once the process ended (nil before, and
// for exit code 0).
func (p *Proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// ExitedAt is when the process ended (zero while it runs).
func (p *Proc) ExitedAt() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitAt
}

// killWait bounds the wait for the process to be reaped after SIGKILL.
const killWait = 10 * time.Second

// Stop sends SIGINT and, if the process still runs after grace, SIGKILL to
// its whole process group; it reports whether it had to kill. It does
// nothing when the process has already ended.
func (p *Proc) Stop(grace time.Duration) (killed bool) {
	if p.Exited() {
		return false
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return false
	case <-timer.C:
	}
	select {
	case <-p.done:
		return false
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(killWait):
	}
	return true
}

// Events returns every event read so far.
func (p *Proc) Events() []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Event(nil), p.events...)
}

// Since returns the events from index from on (none when from is past the
// end).
func (p *Proc) Since(from int) []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	if from > len(p.events) {
		return nil
	}
	return append([]Event(nil), p.events[from:]...)
}

// Len is the number of events read so far: the index of the next one, for
// WaitFor and Since.
func (p *Proc) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

// Stderr returns everything the process wrote on stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// WaitFor waits up to timeout for the first event at index from or later
// that matches, and returns it with its index. It fails when the time runs
// out, when ctx ends, or when the process ends first (the error then holds
// the end of stderr); the index is then -1.
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
		// Every event is recorded before exited is set.
		exited, err, ch := p.exited, p.err, p.notify
		p.mu.Unlock()
		if exited {
			status := "exit status 0"
			if err != nil {
				status = err.Error()
			}
			return Event{}, -1, fmt.Errorf("devloop exited (%s) before a matching event; stderr: %s", status, lastBytes(p.Stderr(), 4096))
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

// Next is WaitFor for a test: it returns the event with the index after it,
// and fails the test (naming what it waited for, with Tail) otherwise.
func (p *Proc) Next(t testing.TB, from int, timeout time.Duration, what string, match func(Event) bool) (Event, int) {
	t.Helper()
	e, next, err := p.NextErr(from, timeout, match)
	if err != nil {
		t.Fatalf("waiting for %s: %v\n%s", what, err, p.Tail(40))
	}
	return e, next
}

// NextErr is WaitFor returning the index after the event (from on error).
func (p *Proc) NextErr(from int, timeout time.Duration, match func(Event) bool) (Event, int, error) {
	e, i, err := p.WaitFor(context.Background(), from, timeout, match)
	if err != nil {
		return Event{}, from, err
	}
	return e, i + 1, nil
}

// Tail formats the last n events, the stdout lines that were not events and
// the last lines of stderr, for failure messages.
func (p *Proc) Tail(n int) string {
	p.mu.Lock()
	ev := p.events
	if len(ev) > n {
		ev = ev[len(ev)-n:]
	}
	ev = append([]Event(nil), ev...)
	text := p.text
	if len(text) > 10 {
		text = text[len(text)-10:]
	}
	text = append([]string(nil), text...)
	p.mu.Unlock()
	var b strings.Builder
	b.WriteString("last events:\n")
	for _, e := range ev {
		fmt.Fprintf(&b, "  %s %s\n", e.Seen.Format("15:04:05.000"), e)
	}
	if len(text) > 0 {
		b.WriteString("stdout lines that are not events:\n  " + strings.Join(text, "\n  ") + "\n")
	}
	lines := strings.Split(strings.TrimSpace(p.Stderr()), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	b.WriteString("stderr tail:\n  " + strings.Join(lines, "\n  ") + "\n")
	return b.String()
}

// lastBytes returns the last n bytes of s, marked when cut.
func lastBytes(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
