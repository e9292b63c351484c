package session

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/devloop-dev/devloop/internal/config"
)

type runnableFunc func(context.Context) error

func (f runnableFunc) Start(ctx context.Context) error { return f(ctx) }

func TestRunEndsEveryComponentWithTheFirstFailure(t *testing.T) {
	boom := errors.New("boom")
	stopped := make(chan struct{})
	err := Run(context.Background(),
		runnableFunc(func(ctx context.Context) error { <-ctx.Done(); close(stopped); return nil }),
		runnableFunc(func(context.Context) error { return boom }),
	)
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want boom", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("the other component still runs")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Run(ctx, runnableFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })); err != nil {
		t.Fatalf("a component ending with its context: %v", err)
	}
}

func TestFeedWakesEverySubscriberWithTheNewestState(t *testing.T) {
	a := &config.Config{}
	f := NewFeed(State{Config: a})
	s, next1 := f.Current()
	_, next2 := f.Current()
	if s.Config != a || s.Deployed {
		t.Fatalf("initial state %+v", s)
	}
	b, c := &config.Config{}, &config.Config{}
	f.Publish(State{Config: b, Deployed: true})
	f.Publish(State{Config: c, Deployed: true}) // never blocks
	for _, n := range []<-chan struct{}{next1, next2} {
		select {
		case <-n:
		default:
			t.Fatal("a subscriber was not woken")
		}
	}
	if s, _ := f.Current(); s.Config != c {
		t.Fatal("not the newest state")
	}
}

// A reload that renames the config restarts the log stream with the new
// name's selector (it kept the first config's before).
func TestLogsFollowTheConfigName(t *testing.T) {
	client := fake.NewSimpleClientset()
	selectors := make(chan string, 16)
	client.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		selectors <- a.(k8stesting.ListAction).GetListRestrictions().Labels.String()
		return false, nil, nil
	})
	first := &config.Config{}
	first.Metadata.Name = "one"
	feed := NewFeed(State{Config: first})
	l := NewLogs(client, zaptest.NewLogger(t), feed, &bytes.Buffer{}, true)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()

	want := func(name string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case sel := <-selectors:
				if strings.Contains(sel, "devloop.dev/config="+name) {
					return
				}
			case <-deadline:
				t.Fatalf("no pod list with config %s", name)
			}
		}
	}
	want("one")
	second := &config.Config{}
	second.Metadata.Name = "two"
	feed.Publish(State{Config: second, Deployed: true})
	want("two")
}
