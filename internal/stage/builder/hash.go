package builder

import (
	"context"
	"strings"

	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
)

// hash computes the artifact's content hash: patched from the last one with
// the paths changed since when it can, else by walking the context. Paths
// noted while hashing stay noted for the next time.
func (s *Stage) hash(ctx context.Context, a config.Artifact, in buildcontext.Inputs) (buildcontext.Result, error) {
	s.mu.Lock()
	st := s.state(a.Image)
	bc, prev, rescan := st.bc, st.hashed, st.rescan
	changed := make([]string, 0, len(st.changed))
	for p := range st.changed {
		changed = append(changed, p)
		if strings.HasSuffix(p, ".dockerignore") {
			bc = nil // the ignore rules changed: reload them
		}
	}
	s.mu.Unlock()

	var err error
	if bc == nil {
		if bc, err = buildcontext.Load(a.ContextDir, a.DockerfilePath); err != nil {
			return buildcontext.Result{}, err
		}
		prev = nil
	}
	var sum buildcontext.Result
	if prev != nil && !rescan {
		sum, err = s.hasher.Update(ctx, bc, *prev, changed, in)
	} else {
		sum, err = s.hasher.Hash(ctx, bc, in)
	}
	if err != nil {
		return sum, err
	}
	s.mu.Lock()
	st.bc, st.hashed, st.rescan = bc, &sum, false
	for _, p := range changed {
		delete(st.changed, p)
	}
	s.mu.Unlock()
	return sum, nil
}
