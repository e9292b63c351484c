package loop

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/watch"
)

const wait = 5 * time.Second

// harness runs a Loop over fakes: no engine, cluster or inotify.
type harness struct {
	t        *testing.T
	p        *fakePipeline
	w        *fakeWatcher
	events   chan events.Event
	reloaded chan *config.Config
	objects  chan int     // how many objects each Publish had
	watcher  watcherStart // the current watcher
	done     chan error
	loop     *Loop
}

func startLoop(t *testing.T, cfg *config.Config, load func() (*config.Config, error)) *harness {
	t.Helper()
	return startLoopOver(t, newFakePipeline(cfg), load)
}

func startLoopOver(t *testing.T, p *fakePipeline, load func() (*config.Config, error)) *harness {
	t.Helper()
	h := &harness{
		t: t, p: p, w: &fakeWatcher{starts: make(chan watcherStart, 4)},
		events:   make(chan events.Event, 1024),
		reloaded: make(chan *config.Config, 4), objects: make(chan int, 4), done: make(chan error, 1),
	}
	l := New(zaptest.NewLogger(t), recorder{h.events}, h.p, Options{
		Load: load,
		Publish: func(c *config.Config, objs []*unstructured.Unstructured) {
			h.reloaded <- c
			h.objects <- len(objs)
		},
		NewWatcher:   h.w.New,
		RetryBackoff: 20 * time.Millisecond,
	})
	h.loop = l
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(wait):
			t.Error("Run did not end with its context")
		}
	})
	h.nextWatcher()
	return h
}

// nextWatcher waits for the loop to start a watcher and returns its roots.
func (h *harness) nextWatcher() watcherStart {
	h.t.Helper()
	select {
	case s := <-h.w.starts:
		h.watcher = s
		return s
	case <-time.After(wait):
		h.t.Fatal("no watcher started")
	}
	return watcherStart{}
}

// expect waits for the pipeline's next call and checks it.
func (h *harness) expect(want string) {
	h.t.Helper()
	select {
	case got := <-h.p.calls:
		if got != want {
			h.t.Fatalf("pipeline call %q, want %q", got, want)
		}
	case <-time.After(wait):
		h.t.Fatalf("no pipeline call, want %q", want)
	}
}

// quiet checks that the pipeline is not called for a while.
func (h *harness) quiet(d time.Duration) {
	h.t.Helper()
	select {
	case got := <-h.p.calls:
		h.t.Fatalf("unexpected pipeline call %q", got)
	case <-time.After(d):
	}
}

func (h *harness) send(cs watch.ChangeSet) {
	h.t.Helper()
	select {
	case h.watcher.out <- cs:
	case <-time.After(wait):
		h.t.Fatal("the loop does not read its watcher")
	}
}

// event waits for an event matching ok.
func (h *harness) event(what string, ok func(events.Event) bool) events.Event {
	h.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case e := <-h.events:
			if ok(e) {
				return e
			}
		case <-deadline:
			h.t.Fatalf("no %s event", what)
		}
	}
}

func cycleEnded(status string) func(events.Event) bool {
	return func(e events.Event) bool { return e.Phase == events.PhaseCycle && e.Status == status && e.Cycle > 0 }
}

func (h *harness) firstPass() {
	h.t.Helper()
	h.expect("build []")
	h.expect("deploy")
	h.event("first cycle done", cycleEnded(events.StatusDone))
}

func TestNewerChangeCancelsTheWorkInFlightAndRedoesIt(t *testing.T) {
	proj := newProject(t)
	h := startLoop(t, proj.cfg, nil)
	h.firstPass()

	h.p.setHold(true)
	h.send(proj.change("app/main.go"))
	h.expect("build [web]") // cycle 2 builds, held

	// A manifest change is heavy work: it cancels cycle 2, and cycle 3
	// does both (the rebuild of web merged back, and the redeploy).
	h.p.setHold(false)
	h.send(proj.change("k8s/deploy.yaml"))
	e := h.event("superseded cycle", cycleEnded(events.StatusSkipped))
	if e.Cycle != 2 || !strings.Contains(e.Message, "superseded") {
		t.Fatalf("cycle %d ended %q, want cycle 2 superseded", e.Cycle, e.Message)
	}
	h.expect("build [web]")
	h.expect("deploy")
	e = h.event("merged cycle done", cycleEnded(events.StatusDone))
	if e.Cycle != 3 || !containsAll(e.Changes, "app/main.go", "k8s/deploy.yaml") {
		t.Fatalf("cycle %d done with changes %v, want cycle 3 with both changes", e.Cycle, e.Changes)
	}
}

func TestSyncWaitsForTheCycleInFlight(t *testing.T) {
	proj := newProject(t)
	h := startLoop(t, proj.cfg, nil)
	h.firstPass()

	h.p.setHold(true)
	h.send(proj.change("app/main.go"))
	h.expect("build [web]")

	// A file matching a sync rule is light work: it waits, cancelling nothing.
	h.send(proj.change("app/ui.py"))
	select {
	case f := <-h.p.synced:
		t.Fatalf("synced %v while a cycle was in flight", f)
	case <-time.After(100 * time.Millisecond):
	}
	h.p.release <- struct{}{}
	h.expect("deploy")
	if e := h.event("build cycle done", cycleEnded(events.StatusDone)); e.Cycle != 2 {
		t.Fatalf("cycle %d done, want 2 (not cancelled by the sync)", e.Cycle)
	}
	select {
	case a := <-h.p.synced:
		if f := a.Copy; a.Image != "web" || len(f) != 1 || f[0].Src != filepath.Join(proj.dir, "app", "ui.py") || f[0].Dest != "/app/ui.py" {
			t.Fatalf("synced %+v, want app/ui.py to /app/ui.py", f)
		}
	case <-time.After(wait):
		t.Fatal("the sync never ran")
	}
	if e := h.event("sync cycle done", cycleEnded(events.StatusDone)); e.Cycle != 3 || !strings.Contains(e.Message, "synced web") {
		t.Fatalf("cycle %d: %q, want cycle 3 synced web", e.Cycle, e.Message)
	}
	h.quiet(100 * time.Millisecond) // the sync alone neither builds nor deploys
}

func TestTransientFailureRetriesWithBackoff(t *testing.T) {
	proj := newProject(t)
	down := fmt.Errorf("connecting to the engine: %w", syscall.ECONNREFUSED)
	p := newFakePipeline(proj.cfg)
	p.failWith = []error{down, down}
	start := time.Now()
	h := startLoopOver(t, p, nil)

	var retries []events.Event
	for range 2 {
		h.expect("build []")
		retries = append(retries, h.event("retry", func(e events.Event) bool {
			return e.Phase == events.PhaseCycle && e.Status == events.StatusInfo && strings.Contains(e.Message, "retrying")
		}))
	}
	h.expect("build []")
	h.expect("deploy")
	h.event("cycle done after the retries", cycleEnded(events.StatusDone))
	if !strings.Contains(retries[0].Message, "20ms") || !strings.Contains(retries[1].Message, "40ms") {
		t.Fatalf("retry messages %q, %q: want the backoff doubling from 20ms", retries[0].Message, retries[1].Message)
	}
	if el := time.Since(start); el < 60*time.Millisecond {
		t.Fatalf("three attempts in %s: the backoff was not waited", el)
	}
}

func TestFirstRenderedPassIsPublishedAfterAFailedFirstPass(t *testing.T) {
	proj := newProject(t)
	p := newFakePipeline(proj.cfg)
	p.failWith = []error{fmt.Errorf("building web: exit status 1")}
	ns := &unstructured.Unstructured{}
	ns.SetKind("Namespace")
	ns.SetName("app")
	p.objects = []*unstructured.Unstructured{ns}
	h := startLoopOver(t, p, nil)
	h.expect("build []")
	h.event("failed first cycle", cycleEnded(events.StatusFailed))
	if n := <-h.objects; n != 0 {
		t.Fatalf("the failed first pass published %d objects, want none", n)
	}
	// The next pass renders: what the logs, forwards and dashboard look
	// at is published then, once.
	for range 2 {
		h.send(proj.change("app/main.go"))
		h.expect("build [web]")
		h.expect("deploy")
		h.event("cycle done", cycleEnded(events.StatusDone))
	}
	select {
	case n := <-h.objects:
		if n != 1 {
			t.Fatalf("published %d objects after the first pass that rendered, want 1", n)
		}
	default:
		t.Fatal("the first pass that rendered was not published")
	}
	select {
	case n := <-h.objects:
		t.Fatalf("published again (%d objects) without a reload", n)
	default:
	}
}

func TestReloadRestartsTheWatcher(t *testing.T) {
	proj := newProject(t)
	next := *proj.cfg
	next.Dev.QuietPeriod = 5 * time.Millisecond
	h := startLoop(t, proj.cfg, func() (*config.Config, error) { return &next, nil })
	first := h.watcher
	h.firstPass()

	h.send(proj.change("devloop.yaml"))
	h.expect("setconfig")
	h.expect("build []") // a reload is a full pass
	h.expect("deploy")
	if c := <-h.reloaded; c != proj.cfg {
		t.Fatal("the first pass published another config")
	}
	if c := <-h.reloaded; c != &next {
		t.Fatal("the reload did not publish the reloaded config")
	}
	s := h.nextWatcher()
	if first.ctx.Err() == nil {
		t.Fatal("the first watcher still runs after the reload")
	}
	if s.quiet != 5*time.Millisecond || !hasRoot(s.roots, filepath.Join(proj.dir, "app")) {
		t.Fatalf("watcher after the reload: quiet %s, roots %v; want the reloaded config's", s.quiet, s.roots)
	}
}

// A config with no artifacts, then one added while dev runs: the reload
// makes a full pass and the new artifact's sources are watched and decided.
func TestArtifactAddedOnReload(t *testing.T) {
	proj := newProject(t)
	empty := *proj.cfg
	empty.Build.Artifacts = nil
	h := startLoop(t, &empty, func() (*config.Config, error) { return proj.cfg, nil })
	h.firstPass()
	h.send(proj.change("app/main.go"))
	h.quiet(100 * time.Millisecond) // not a source of the first config

	h.send(proj.change("devloop.yaml"))
	h.expect("setconfig")
	h.expect("build []")
	h.expect("deploy")
	if s := h.nextWatcher(); !hasRoot(s.roots, filepath.Join(proj.dir, "app")) {
		t.Fatalf("the added artifact's context is not watched: %v", s.roots)
	}
	h.send(proj.change("app/main.go"))
	h.expect("build [web]")
	h.expect("deploy")
}

func hasRoot(roots []watch.Root, dir string) bool {
	for _, r := range roots {
		if r.Dir == dir {
			return true
		}
	}
	return false
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		if !contains(list, w) {
			return false
		}
	}
	return true
}
