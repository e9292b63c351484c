package delivery

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/events"
)

type fakeDeliverer struct {
	rep    deliver.Report
	err    error
	closed bool
}

func (f *fakeDeliverer) Deliver(context.Context, string) (deliver.Report, error) { return f.rep, f.err }
func (f *fakeDeliverer) Present(context.Context, string) (bool, error)           { return true, nil }
func (f *fakeDeliverer) Method() string                                          { return "fake import" }
func (f *fakeDeliverer) Close() error                                            { f.closed = true; return nil }

type recorder struct{ evs []events.Event }

func (r *recorder) Emit(e events.Event) { r.evs = append(r.evs, e) }

func (r *recorder) last(t *testing.T) events.Event {
	t.Helper()
	if len(r.evs) == 0 {
		t.Fatal("no event")
	}
	return r.evs[len(r.evs)-1]
}

// A delivery reports its method, message and bytes, and the reference the
// cluster must use wins over the engine's when the deliverer names one.
func TestDeliverReportsAndPicksTheClusterReference(t *testing.T) {
	rec := &recorder{}
	f := &fakeDeliverer{rep: deliver.Report{Ref: "reg:5000/web@sha256:1", Method: "push", Message: "3 layers", Bytes: 42}}
	s := New(rec, f)
	ref, moved, err := s.Deliver(context.Background(), events.Event{Artifact: "web", Builder: "default"}, "web:abc")
	if err != nil || ref != "reg:5000/web@sha256:1" || !moved {
		t.Fatalf("got %q moved=%v err=%v", ref, moved, err)
	}
	e := rec.last(t)
	if e.Phase != events.PhaseDeliver || e.Status != events.StatusDone || e.Message != "push: 3 layers" ||
		e.Bytes != 42 || e.Artifact != "web" || e.Builder != "default" {
		t.Fatalf("event %+v", e)
	}

	f.rep = deliver.Report{Skipped: true, Message: "already there"}
	if ref, moved, err = s.Deliver(context.Background(), events.Event{Artifact: "web"}, "web:abc"); err != nil || ref != "web:abc" || moved {
		t.Fatalf("skipped: got %q moved=%v err=%v, want the engine's reference, nothing moved", ref, moved, err)
	}
	if e := rec.last(t); e.Status != events.StatusSkipped {
		t.Fatalf("skipped delivery reported %+v", e)
	}

	f.err = errors.New("node unreachable")
	if _, _, err = s.Deliver(context.Background(), events.Event{Artifact: "web"}, "web:abc"); err == nil || !strings.Contains(err.Error(), "delivering web:abc: node unreachable") {
		t.Fatalf("failure: %v", err)
	}
	if e := rec.last(t); e.Status != events.StatusFailed {
		t.Fatalf("failed delivery reported %+v", e)
	}
	if s.Method() != "fake import" {
		t.Errorf("method %q", s.Method())
	}
	if err := s.Close(); err != nil || !f.closed {
		t.Errorf("close: %v, closed %v", err, f.closed)
	}
}
