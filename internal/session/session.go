// Package session composes `devloop dev` (and what `devloop run` keeps
// running after its pass) out of components that each run until their
// context ends: the loop, the logs and the port-forwards. They share one
// Feed: the loop publishes the configuration in use and the objects of its
// last pass after the first pass and after every reload, and each component
// rebuilds what it derives from them. That is the one reload path.
package session

import (
	"context"
	"errors"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
)

// Runnable is a component that runs until ctx ends, as controller-runtime's
// manager.Runnable: Start blocks, and returns nil when ctx ended, an error
// when the component failed.
type Runnable interface {
	Start(ctx context.Context) error
}

// Run starts every component and waits until all have returned. The first
// to fail cancels the others; the error is returned. Components that end
// because ctx ended are not failures.
func Run(ctx context.Context, components ...Runnable) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range components {
		g.Go(func() error { return c.Start(gctx) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// State is what the components derive from.
type State struct {
	// Config is the configuration in use.
	Config *config.Config
	// Objects are the objects the last pass rendered (nil when it did not
	// get that far).
	Objects []*unstructured.Unstructured
	// Deployed is false until the first pass ended (successfully or not):
	// port-forwards wait for it.
	Deployed bool
}

// Feed holds the current State and tells every subscriber when it changes.
// Publish never blocks; a subscriber that was busy sees only the newest
// state.
type Feed struct {
	mu    sync.Mutex
	state State
	next  chan struct{} // closed by the next Publish
}

// NewFeed returns a Feed holding s.
func NewFeed(s State) *Feed {
	return &Feed{state: s, next: make(chan struct{})}
}

// Publish replaces the state and wakes every subscriber.
func (f *Feed) Publish(s State) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state = s
	close(f.next)
	f.next = make(chan struct{})
}

// Current returns the state and a channel closed when it is replaced.
func (f *Feed) Current() (State, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.next
}
