// Package delivery is the stage that puts a built image where the cluster
// runs it (an import into the nodes' containerd, kind's nodes, a push to
// the cluster's registry: whatever deliver.Detect chose), reporting each
// delivery as a deliver event.
package delivery

import (
	"context"
	"fmt"
	"io"

	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/events"
)

// Stage delivers images through one deliver.Deliverer.
type Stage struct {
	sink events.Sink
	d    deliver.Deliverer
}

// New returns the delivery stage over d.
func New(sink events.Sink, d deliver.Deliverer) *Stage {
	return &Stage{sink: sink, d: d}
}

// Present reports whether ref is already where the cluster runs it.
func (s *Stage) Present(ctx context.Context, ref string) (bool, error) {
	return s.d.Present(ctx, ref)
}

// Method names the delivery path, for messages.
func (s *Stage) Method() string { return s.d.Method() }

// Deliver makes ref (an image in the engine) runnable by the cluster and
// returns the reference the cluster must use, and whether anything moved.
// A deliver event with base's fields (artifact, image, builder) says what
// happened.
func (s *Stage) Deliver(ctx context.Context, base events.Event, ref string) (string, bool, error) {
	base.Phase = events.PhaseDeliver
	dt := events.Start(s.sink, base)
	rep, err := s.d.Deliver(ctx, ref)
	if err != nil {
		dt.Fail(err)
		return "", false, fmt.Errorf("delivering %s: %w", ref, err)
	}
	fill := func(e *events.Event) { e.Bytes = rep.Bytes }
	if rep.Skipped {
		dt.Skip(rep.Message, fill)
	} else {
		dt.Done(rep.Method+": "+rep.Message, fill)
	}
	if rep.Ref != "" {
		ref = rep.Ref
	}
	return ref, !rep.Skipped, nil
}

// Close releases the deliverer's connection, if it holds one.
func (s *Stage) Close() error {
	if c, ok := s.d.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
