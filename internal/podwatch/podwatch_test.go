package podwatch

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func testPod(name string, lbls map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: lbls}}
}

var web = map[string]string{"app": "web"}

// recorder is a Handler that reports each call as a line on events.
type recorder struct{ events chan string }

func (r *recorder) Listed(_ context.Context, pods []*corev1.Pod) {
	names := make([]string, 0, len(pods))
	for _, p := range pods {
		names = append(names, p.Name)
	}
	sort.Strings(names)
	r.events <- "listed " + strings.Join(names, ",")
}

func (r *recorder) Changed(_ context.Context, p *corev1.Pod) { r.events <- "changed " + p.Name }
func (r *recorder) Deleted(_ context.Context, p *corev1.Pod) { r.events <- "deleted " + p.Name }

// fixture is a fake clientset whose lists carry resourceVersions "1", "2",
// ... and whose watches are fake watchers handed to the test on watches.
type fixture struct {
	client  *fake.Clientset
	watches chan watchCall

	mu    sync.Mutex
	lists int
}

type watchCall struct {
	w    *watch.FakeWatcher
	opts metav1.ListOptions
}

func newFixture(objs ...runtime.Object) *fixture {
	fx := &fixture{client: fake.NewSimpleClientset(objs...), watches: make(chan watchCall, 10)}
	fx.client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		handled, obj, err := k8stesting.ObjectReaction(fx.client.Tracker())(a)
		if l, ok := obj.(*corev1.PodList); ok {
			fx.mu.Lock()
			fx.lists++
			l.ResourceVersion = strconv.Itoa(fx.lists)
			fx.mu.Unlock()
		}
		return handled, obj, err
	})
	fx.client.PrependWatchReactor("pods", func(a k8stesting.Action) (bool, watch.Interface, error) {
		w := watch.NewFake()
		fx.watches <- watchCall{w: w, opts: a.(k8stesting.WatchActionImpl).ListOptions}
		return true, w, nil
	})
	return fx
}

// run starts a Watcher on the pods labelled app=web of ns; the returned
// function stops it and waits for Run to return.
func (fx *fixture) run(t *testing.T, log *zap.Logger, sel SelectFunc, h Handler) (stop func()) {
	t.Helper()
	w := New(fx.client.CoreV1(), log, "following pods failed; retrying")
	w.min, w.max = time.Millisecond, 4*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, sel, h)
	}()
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	}
}

var webPods = Fixed(Selection{Namespace: "ns", Labels: labels.SelectorFromSet(web)})

func expect(t *testing.T, events <-chan string, want ...string) {
	t.Helper()
	for _, w := range want {
		select {
		case got := <-events:
			if got != w {
				t.Fatalf("handler got %q, want %q", got, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("handler got nothing, want %q", w)
		}
	}
}

func nextWatch(t *testing.T, fx *fixture) watchCall {
	t.Helper()
	select {
	case c := <-fx.watches:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no watch started")
		return watchCall{}
	}
}

func TestRunListsThenFollowsTheWatch(t *testing.T) {
	fx := newFixture(testPod("web-1", web), testPod("web-2", web), testPod("db-1", map[string]string{"app": "db"}))
	rec := &recorder{events: make(chan string, 100)}
	stop := fx.run(t, zap.NewNop(), webPods, rec)
	defer stop()

	expect(t, rec.events, "listed web-1,web-2")
	c := nextWatch(t, fx)
	if c.opts.ResourceVersion != "1" || !c.opts.AllowWatchBookmarks || c.opts.LabelSelector != "app=web" {
		t.Fatalf("watch options %+v, want resourceVersion 1 of the list, bookmarks and app=web", c.opts)
	}
	c.w.Add(testPod("web-3", web))
	c.w.Modify(testPod("web-1", web))
	c.w.Action(watch.Bookmark, testPod("", nil))
	c.w.Delete(testPod("web-2", web))
	expect(t, rec.events, "changed web-3", "changed web-1", "deleted web-2")
	select {
	case c := <-fx.watches:
		t.Fatalf("a second watch started (%+v) while the first was open", c.opts)
	default:
	}
}

func TestRunRelistsWhenTheWatchEnds(t *testing.T) {
	fx := newFixture(testPod("web-1", web))
	core, logs := observer.New(zapcore.InfoLevel)
	rec := &recorder{events: make(chan string, 100)}
	stop := fx.run(t, zap.New(core), webPods, rec)
	defer stop()

	expect(t, rec.events, "listed web-1")
	c := nextWatch(t, fx)

	// The watch channel closes (the API server ended it): the pods are
	// listed again, and the new watch starts from the new list.
	if err := fx.client.Tracker().Add(testPod("web-2", web)); err != nil {
		t.Fatal(err)
	}
	c.w.Stop()
	expect(t, rec.events, "listed web-1,web-2")
	c = nextWatch(t, fx)
	if c.opts.ResourceVersion != "2" {
		t.Fatalf("the second watch starts at resourceVersion %q, want 2 (the second list's)", c.opts.ResourceVersion)
	}
	c.w.Add(testPod("web-3", web))
	expect(t, rec.events, "changed web-3")

	// The watch expires (410 Gone): listed again, without a warning.
	gone := apierrors.NewResourceExpired("too old resource version: 2 (5)")
	c.w.Error(&gone.ErrStatus)
	expect(t, rec.events, "listed web-1,web-2")
	c = nextWatch(t, fx)
	if c.opts.ResourceVersion != "3" {
		t.Fatalf("the third watch starts at resourceVersion %q, want 3", c.opts.ResourceVersion)
	}
	if n := logs.Len(); n != 0 {
		t.Fatalf("logged %d entries for watches that ended normally: %v", n, logs.All())
	}
}

func TestRunRetriesFailuresWithBackoff(t *testing.T) {
	fx := newFixture(testPod("web-1", web))
	var mu sync.Mutex
	failLists := 3
	fx.client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if failLists > 0 {
			failLists--
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	})
	core, logs := observer.New(zapcore.InfoLevel)
	rec := &recorder{events: make(chan string, 100)}
	stop := fx.run(t, zap.New(core), webPods, rec)
	defer stop()

	expect(t, rec.events, "listed web-1")
	c := nextWatch(t, fx)
	// The recovery is said once the list succeeds, while the watch runs.
	if n := logs.FilterMessage("watching pods again").Len(); n != 1 {
		t.Fatalf("%d \"watching pods again\" lines while the first good watch runs, want 1", n)
	}

	// A watch error other than expiry is a failure too.
	c.w.Error(&apierrors.NewInternalError(errors.New("etcd away")).ErrStatus)
	expect(t, rec.events, "listed web-1")
	nextWatch(t, fx)

	var got []string
	for _, e := range logs.All() {
		s := e.Level.String() + " " + e.Message
		if err, ok := e.ContextMap()["error"].(string); ok {
			s += ": " + err
		}
		got = append(got, s)
	}
	// Delays of 1, 2, 4 ms: the first failure is logged, then the one at
	// the cap; after the list succeeds, the watch error starts again at the
	// first delay and is logged, and the list after it is the recovery.
	want := []string{
		"warn following pods failed; retrying: listing pods: connection refused",
		"warn following pods failed; retrying: listing pods: connection refused",
		"info watching pods again",
		"warn following pods failed; retrying: watching pods: Internal error occurred: etcd away",
		"info watching pods again",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("logged\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRunRetriesAFailingSelection(t *testing.T) {
	fx := newFixture(testPod("web-1", web), testPod("db-1", map[string]string{"app": "db"}))
	var calls int
	sel := func(context.Context) (Selection, error) {
		calls++
		if calls == 1 {
			return Selection{}, errors.New("reading service/web: not found")
		}
		return Selection{Namespace: "ns", Labels: labels.SelectorFromSet(map[string]string{"app": "db"})}, nil
	}
	rec := &recorder{events: make(chan string, 100)}
	stop := fx.run(t, zap.NewNop(), sel, rec)
	defer stop()

	expect(t, rec.events, "listed db-1")
	c := nextWatch(t, fx)
	if c.opts.LabelSelector != "app=db" {
		t.Fatalf("watching %q, want app=db", c.opts.LabelSelector)
	}
	// The selection is read again before every list.
	c.w.Stop()
	expect(t, rec.events, "listed db-1")
	nextWatch(t, fx)
	stop()
	if calls != 3 {
		t.Fatalf("the selection was read %d times, want 3", calls)
	}
}

func TestRunEndsWithItsContextWhileFailing(t *testing.T) {
	fx := newFixture()
	fx.client.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("the server is shutting down")
	})
	w := New(fx.client.CoreV1(), zap.NewNop(), "retrying")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, webPods, &recorder{events: make(chan string, 100)})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

func TestBackoffDoublesToItsCap(t *testing.T) {
	b := Backoff{Min: 250 * time.Millisecond, Max: 5 * time.Second}
	var got []time.Duration
	for range 7 {
		got = append(got, b.Next())
	}
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("delays %v, want %v", got, want)
		}
	}
	b.Reset()
	if d := b.Next(); d != 250*time.Millisecond {
		t.Fatalf("after Reset the delay is %v, want 250ms", d)
	}
}
