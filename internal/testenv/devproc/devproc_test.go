package devproc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// fake starts sh -c script in a temporary directory as the driver's child:
// a stand-in for devloop that prints what the test needs.
func fake(t *testing.T, script string, stderr *bytes.Buffer) *devproc.Proc {
	t.Helper()
	c := devproc.Command{Binary: "sh", Dir: t.TempDir(), Args: []string{"-c", script}}
	if stderr != nil {
		c.Stderr = &lockedWriter{w: stderr}
	}
	p, err := devproc.Launch(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(time.Second) })
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// forever keeps sh running until a signal; SIGINT ends it with 130.
const forever = `trap 'echo interrupted >&2; exit 130' INT
while :; do sleep 0.05; done
`

func TestEventsStderrAndExit(t *testing.T) {
	var tee bytes.Buffer
	p := fake(t, `
echo '{"time":"2026-01-02T03:04:05Z","phase":"build","status":"done","artifact":"web","durationMs":42,"counts":{"writes":3},"bytes":7}'
echo 'not an event'
echo '{"status":"done"}'
echo 'to stderr' >&2
echo '{"phase":"cycle","status":"failed","cycle":2,"changes":["a.go"],"message":"boom"}'
exit 3
`, &tee)
	code, ok := p.WaitExit(10 * time.Second)
	if !ok || code != 3 {
		t.Fatalf("WaitExit = %d, %v; want 3, true", code, ok)
	}
	evs := p.Events()
	if len(evs) != 2 || p.Len() != 2 {
		t.Fatalf("want 2 events (a line without JSON or a phase is not one), got %d: %v", len(evs), evs)
	}
	b := evs[0]
	if !b.Is("build", "done") || b.Artifact != "web" || b.DurationMs != 42 || b.Counts["writes"] != 3 || b.Bytes != 7 ||
		!b.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || b.Seen.IsZero() {
		t.Errorf("first event decoded as %+v", b)
	}
	c := evs[1]
	if c.Cycle != 2 || len(c.Changes) != 1 || c.Message != "boom" || c.String() != "cycle failed boom (cycle 2)" {
		t.Errorf("second event decoded as %+v (%s)", c, c)
	}
	if got := p.Since(1); len(got) != 1 || got[0].Phase != "cycle" {
		t.Errorf("Since(1) = %v", got)
	}
	if got := p.Since(5); got != nil {
		t.Errorf("Since past the end = %v, want nil", got)
	}
	if p.Stderr() != "to stderr\n" || tee.String() != "to stderr\n" {
		t.Errorf("stderr kept %q, teed %q; want %q", p.Stderr(), tee.String(), "to stderr\n")
	}
	var ee *exec.ExitError
	if !p.Exited() || !errors.As(p.Err(), &ee) || p.ExitedAt().Before(p.Started) {
		t.Errorf("Exited %v, Err %v, ExitedAt %v (started %v)", p.Exited(), p.Err(), p.ExitedAt(), p.Started)
	}
	tail := p.Tail(1)
	for _, want := range []string{"cycle failed boom", "not an event", "to stderr"} {
		if !strings.Contains(tail, want) {
			t.Errorf("Tail lacks %q:\n%s", want, tail)
		}
	}
	if strings.Contains(tail, "build done") {
		t.Errorf("Tail(1) shows more than the last event:\n%s", tail)
	}
	if p.Stop(time.Second) {
		t.Errorf("Stop of an ended process killed")
	}
}

func TestWaitFor(t *testing.T) {
	p := fake(t, `
echo '{"phase":"cycle","status":"start","cycle":1}'
echo '{"phase":"build","status":"start"}'
sleep 0.3
echo '{"phase":"cycle","status":"done","cycle":1}'
`+forever, nil)
	isCycleEnd := func(e devproc.Event) bool { return e.Phase == "cycle" && e.Status != "start" }

	e, i, err := p.WaitFor(context.Background(), 0, 10*time.Second, isCycleEnd)
	if err != nil || i != 2 || !e.Is("cycle", "done") {
		t.Fatalf("WaitFor = %v, %d, %v; want cycle done at index 2", e, i, err)
	}
	if e, i, err = p.WaitFor(context.Background(), 0, time.Second, func(e devproc.Event) bool { return e.Phase == "build" }); err != nil || i != 1 {
		t.Errorf("WaitFor of a recorded event = %v, %d, %v; want index 1", e, i, err)
	}
	e, next, err := p.NextErr(0, time.Second, isCycleEnd)
	if err != nil || next != 3 || !e.Is("cycle", "done") {
		t.Errorf("NextErr = %v, %d, %v; want the index after it, 3", e, next, err)
	}
	if _, next = p.Next(t, 0, time.Second, "the build start", func(e devproc.Event) bool { return e.Is("build", "start") }); next != 2 {
		t.Errorf("Next returned %d, want 2", next)
	}

	start := time.Now()
	_, i, err = p.WaitFor(context.Background(), 3, 200*time.Millisecond, isCycleEnd)
	if err == nil || i != -1 || !strings.Contains(err.Error(), "no matching event within 200ms") {
		t.Errorf("WaitFor past the events = %d, %v; want a timeout", i, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("the 200ms timeout took %s", d)
	}
	if _, next, err = p.NextErr(3, 0, isCycleEnd); err == nil || next != 3 {
		t.Errorf("NextErr with nothing to find = %d, %v; want 3 and an error", next, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err = p.WaitFor(ctx, 3, time.Minute, isCycleEnd); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with a canceled context: %v", err)
	}

	// A waiter wakes for a new event and for the exit.
	got := make(chan error, 1)
	go func() {
		_, _, err := p.WaitFor(context.Background(), 3, time.Minute, func(devproc.Event) bool { return true })
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if p.Stop(10 * time.Second) {
		t.Fatalf("Stop had to kill a child that exits on SIGINT")
	}
	select {
	case err := <-got:
		if err == nil || !strings.Contains(err.Error(), "devloop exited (exit status 130)") || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("WaitFor across the exit: %v; want the exit status and stderr", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitFor did not return when the process ended")
	}
	if code, ok := p.WaitExit(0); !ok || code != 130 {
		t.Errorf("exit code %d (ended %v), want 130", code, ok)
	}
}

func TestStopKillsTheGroup(t *testing.T) {
	// The child ignores SIGINT and has a child of its own that holds stdout.
	p := fake(t, `sleep 300 &
echo '{"phase":"run","status":"info","message":"'$!'"}'
trap '' INT
wait
`, nil)
	e, _, err := p.WaitFor(context.Background(), 0, 10*time.Second, func(e devproc.Event) bool { return e.Phase == "run" })
	if err != nil {
		t.Fatal(err)
	}
	grandchild, err := strconv.Atoi(e.Message)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !p.Stop(200 * time.Millisecond) {
		t.Fatalf("Stop did not kill a child that ignores SIGINT\n%s", p.Tail(5))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Stop took %s", d)
	}
	if code, ok := p.WaitExit(0); !ok || code != -1 {
		t.Errorf("exit code %d (ended %v), want -1 (killed)", code, ok)
	}
	for deadline := time.Now().Add(5 * time.Second); devproc.Alive(grandchild); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the child's child %d outlived Stop", grandchild)
		}
	}
}

func TestWaitContextStops(t *testing.T) {
	p := fake(t, forever, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait = %v, want the context's deadline", err)
	}
	if !p.Exited() {
		t.Errorf("Wait did not stop the process when its context ended")
	}

	q := fake(t, "exit 0", nil)
	if err := q.Wait(context.Background()); err != nil {
		t.Errorf("Wait for exit 0 = %v", err)
	}
}

func TestStartStopsAtTheEndOfTheTest(t *testing.T) {
	var p *devproc.Proc
	t.Run("child", func(t *testing.T) {
		p = devproc.Start(t, "sh", t.TempDir(), "-c", forever)
		if _, ok := p.WaitExit(100 * time.Millisecond); ok {
			t.Fatalf("the child ended on its own\n%s", p.Tail(5))
		}
	})
	if code, ok := p.WaitExit(0); !ok || code != 130 {
		t.Errorf("after the test: exit code %d (ended %v), want 130 from SIGINT", code, ok)
	}
}

func TestParseEvents(t *testing.T) {
	evs, err := devproc.ParseEvents("{\"phase\":\"run\",\"status\":\"done\",\"durationMs\":5}\n\n  \n{\"status\":\"info\"}\n")
	if err != nil || len(evs) != 2 || evs[0].DurationMs != 5 || evs[1].Status != "info" {
		t.Fatalf("ParseEvents = %v, %v", evs, err)
	}
	if _, err := devproc.ParseEvents("{\"phase\":\"run\"}\nWarning: text\n"); err == nil || !strings.Contains(err.Error(), "Warning: text") {
		t.Errorf("a text line: %v, want an error naming it", err)
	}
	if _, ok := devproc.ParseEvent(`{"status":"done"}`); ok {
		t.Errorf("ParseEvent accepted an event without a phase")
	}
}

// The JSON form of Event is devloop's: the benchmark writes recorded events
// into its results.
func TestEventJSONIsDevloops(t *testing.T) {
	line := `{"time":"2026-01-02T03:04:05Z","phase":"apply","status":"done","durationMs":9,"counts":{"writes":1},"object":"Deployment/ns/web","bytes":3}`
	e, ok := devproc.ParseEvent(line)
	if !ok {
		t.Fatal("not parsed")
	}
	e.Seen = time.Now()
	got, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var real events.Event
	if err := json.Unmarshal([]byte(line), &real); err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(real)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Event marshals as\n%s\nwant events.Event's\n%s", got, want)
	}
}

func TestPollBody(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		case 2:
			fmt.Fprintln(w, "v1")
		default:
			fmt.Fprintln(w, "  v2 ")
		}
	}))
	defer srv.Close()

	if _, err := devproc.Get(srv.Client(), srv.URL); err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "starting") {
		t.Errorf("Get of a 503 = %v, want an error with the status and body", err)
	}
	if body, err := devproc.Get(srv.Client(), srv.URL); err != nil || body != "v1" {
		t.Errorf("Get = %q, %v; want v1 trimmed", body, err)
	}
	n.Store(0)
	body, took, err := devproc.PollBody(srv.Client(), srv.URL, 10*time.Millisecond, 10*time.Second, func(b string) bool { return b == "v2" })
	if err != nil || body != "v2" || n.Load() != 3 || took <= 0 {
		t.Errorf("PollBody = %q, %s, %v after %d requests; want v2 at the third", body, took, err, n.Load())
	}
	if took, err := devproc.WaitBody(srv.URL, "v2", 10*time.Second); err != nil || took > 5*time.Second {
		t.Errorf("WaitBody = %s, %v", took, err)
	}
	_, took, err = devproc.PollBody(srv.Client(), srv.URL, 10*time.Millisecond, 50*time.Millisecond, func(string) bool { return false })
	if err == nil || !strings.Contains(err.Error(), `last: "v2"`) || took < 50*time.Millisecond {
		t.Errorf("PollBody that never matches = %s, %v; want an error with the last answer after 50ms", took, err)
	}
}

func TestFreePort(t *testing.T) {
	port := devproc.FreePort(t)
	if !devproc.PortFree(port) {
		t.Fatalf("port %d from FreePort is taken", port)
	}
}
