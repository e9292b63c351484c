package pipeline

import (
	"context"
	"sort"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"go.uber.org/zap"
)

// removeTimeout bounds one background removal of superseded images.
const removeTimeout = time.Minute

// superseded tracks the images this session built and deployed, so that dev
// can remove from the engine those a later deploy replaced: a session of
// hundreds of saves otherwise leaves an image per save in the engine (a
// 300-cycle soak left 418 notes-web images, the disk filled and the node
// was tainted). Only images this session built are ever removed, only once
// a deploy of their successor is ready, and never the one deployed last.
type superseded struct {
	built   map[string]bool   // references built by this session
	live    map[string]string // artifact image → reference of the last ready deploy
	pending map[string]bool   // superseded, not removed yet (in use by a container)
}

func (s *superseded) noteBuilt(ref string) {
	if s.built == nil {
		s.built = map[string]bool{}
	}
	s.built[ref] = true
}

// deployed records a ready deploy of images (artifact image → reference)
// and returns the references to remove now, sorted: the ones it replaced
// that this session built, and those whose removal failed before. A
// reference deployed again is never among them.
func (s *superseded) deployed(images map[string]string) []string {
	if s.live == nil {
		s.live = map[string]string{}
	}
	if s.pending == nil {
		s.pending = map[string]bool{}
	}
	current := map[string]bool{}
	for _, ref := range images {
		current[ref] = true
	}
	for img, ref := range images {
		if old := s.live[img]; old != "" && old != ref && s.built[old] {
			s.pending[old] = true
		}
		s.live[img] = ref
	}
	var out []string
	for ref := range s.pending {
		if current[ref] {
			delete(s.pending, ref)
			continue
		}
		out = append(out, ref)
	}
	sort.Strings(out)
	return out
}

// removed records the outcome of removing ref: kept pending when it failed.
func (s *superseded) removed(ref string, err error) {
	if err == nil {
		delete(s.pending, ref)
		delete(s.built, ref)
	}
}

// imageRemover is what removing superseded images needs of the engine.
type imageRemover interface {
	ImageRemove(ctx context.Context, ref string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
}

// remover removes from the engine the images a ready deploy replaced
// (ModeDev): their tags only, the layers other images share stay. It
// decides what to remove at once, in deploy order, and removes in the
// background so that the pass (and the next save's) never waits on the
// engine; wait (Close) waits for it. A failure (a container still uses the
// image, on an engine that is the cluster's runtime) is retried after the
// next deploy. Safe from any goroutine.
type remover struct {
	log *zap.Logger

	mu   sync.Mutex
	gone superseded
	// removals counts the background removals; removing lets one run at
	// a time.
	removals sync.WaitGroup
	removing sync.Mutex
}

func (r *remover) noteBuilt(ref string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gone.noteBuilt(ref)
}

// wait waits for the removals started.
func (r *remover) wait() { r.removals.Wait() }

// removeLater records the deploy of images and starts removing what it
// superseded; removals run one batch at a time.
func (r *remover) removeLater(ctx context.Context, engine imageRemover, images map[string]string) {
	r.mu.Lock()
	refs := r.gone.deployed(images)
	r.mu.Unlock()
	if len(refs) == 0 {
		return
	}
	// The pass's context ends with the pass; the removal outlives it.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), removeTimeout)
	r.removals.Add(1)
	go func() {
		defer r.removals.Done()
		defer cancel()
		r.removing.Lock()
		defer r.removing.Unlock()
		r.remove(rctx, engine, refs)
	}()
}

// remove removes refs from engine. An image already gone (a batch before
// removed it) counts as removed.
func (r *remover) remove(ctx context.Context, engine imageRemover, refs []string) {
	for _, ref := range refs {
		_, err := engine.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
			err = nil
			r.log.Debug("removed a superseded image from the engine", zap.String("ref", ref))
		default:
			r.log.Debug("removing a superseded image failed; trying again after the next deploy", zap.String("ref", ref), zap.Error(err))
		}
		r.mu.Lock()
		r.gone.removed(ref, err)
		r.mu.Unlock()
	}
}
