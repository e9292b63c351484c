package pipeline

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	"go.uber.org/zap"
)

func TestSupersededDeployed(t *testing.T) {
	var s superseded
	s.noteBuilt("web:1")
	if got := s.deployed(map[string]string{"web": "web:1", "db": "db:x"}); len(got) != 0 {
		t.Fatalf("first deploy removes %v", got)
	}
	s.noteBuilt("web:2")
	if got := s.deployed(map[string]string{"web": "web:2", "db": "db:x"}); !reflect.DeepEqual(got, []string{"web:1"}) {
		t.Fatalf("second deploy removes %v, want web:1", got)
	}
	s.removed("web:1", nil)
	// db:y was not built here (found in the cluster): db:x is not this
	// session's either, and neither is ever removed.
	if got := s.deployed(map[string]string{"web": "web:2", "db": "db:y"}); len(got) != 0 {
		t.Fatalf("an image this session did not build is removed: %v", got)
	}
	// A failed removal is tried again after the next deploy, unless that
	// deploy brings the image back.
	s.noteBuilt("web:3")
	if got := s.deployed(map[string]string{"web": "web:3", "db": "db:y"}); !reflect.DeepEqual(got, []string{"web:2"}) {
		t.Fatalf("third deploy removes %v, want web:2", got)
	}
	s.removed("web:2", errors.New("in use"))
	if got := s.deployed(map[string]string{"web": "web:3", "db": "db:y"}); !reflect.DeepEqual(got, []string{"web:2"}) {
		t.Fatalf("a failed removal is not retried: %v", got)
	}
	s.removed("web:2", errors.New("in use"))
	// Going back to web:2 (a reverted edit): it stays, web:3 goes.
	if got := s.deployed(map[string]string{"web": "web:2", "db": "db:y"}); !reflect.DeepEqual(got, []string{"web:3"}) {
		t.Fatalf("going back to web:2 removes %v, want web:3 only", got)
	}
}

type fakeRemover struct{ removed []string }

func (f *fakeRemover) ImageRemove(_ context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	f.removed = append(f.removed, ref)
	return nil, nil
}

func TestRemoveSupersededInOrder(t *testing.T) {
	r := &remover{log: zap.NewNop()}
	f := &fakeRemover{}
	r.noteBuilt("web:1")
	r.noteBuilt("web:2")
	r.removeLater(context.Background(), f, map[string]string{"web": "web:1"})
	r.removeLater(context.Background(), f, map[string]string{"web": "web:2"})
	r.wait()
	if !reflect.DeepEqual(f.removed, []string{"web:1"}) {
		t.Fatalf("removed %v, want web:1", f.removed)
	}
}

// blockingRemover holds every removal until release is closed and records
// whether the context it got had ended.
type blockingRemover struct {
	started  chan string
	release  chan struct{}
	removed  []string
	canceled bool
}

func (b *blockingRemover) ImageRemove(ctx context.Context, ref string, _ image.RemoveOptions) ([]image.DeleteResponse, error) {
	b.started <- ref
	<-b.release
	b.canceled = b.canceled || ctx.Err() != nil
	b.removed = append(b.removed, ref)
	return nil, nil
}

func TestRemoveSupersededInTheBackground(t *testing.T) {
	r := &Runner{gone: &remover{log: zap.NewNop()}, engine: &engine{}}
	b := &blockingRemover{started: make(chan string, 1), release: make(chan struct{})}
	r.gone.noteBuilt("web:1")
	r.gone.noteBuilt("web:2")
	r.gone.removeLater(context.Background(), b, map[string]string{"web": "web:1"})
	ctx, cancel := context.WithCancel(context.Background())
	r.gone.removeLater(ctx, b, map[string]string{"web": "web:2"}) // returns while the engine is busy
	if got := <-b.started; got != "web:1" {
		t.Fatalf("removing %s, want web:1", got)
	}
	cancel() // the pass ended: the removal goes on
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a removal was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(b.release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b.removed, []string{"web:1"}) || b.canceled {
		t.Fatalf("removed %v (context ended: %v), want web:1 with a live context", b.removed, b.canceled)
	}
	r.gone.mu.Lock()
	defer r.gone.mu.Unlock()
	if len(r.gone.gone.pending) != 0 {
		t.Fatalf("still pending: %v", r.gone.gone.pending)
	}
}
