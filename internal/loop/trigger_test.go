package loop

import (
	"strings"
	"testing"

	"github.com/devloop-dev/devloop/internal/events"
)

// The dashboard's buttons: a rebuild forces that artifact's build and
// deploys; a redeploy only deploys; an unknown artifact is refused.
func TestTriggersStartACycle(t *testing.T) {
	proj := newProject(t)
	h := startLoop(t, proj.cfg, nil)
	h.firstPass()

	if err := h.loop.Rebuild("web"); err != nil {
		t.Fatal(err)
	}
	h.expect("force web")
	h.expect("build [web]")
	h.expect("deploy")
	e := h.event("rebuild cycle done", cycleEnded(events.StatusDone))
	if !containsAll(e.Changes, "(rebuild web asked for)") {
		t.Fatalf("cycle %d changes %v", e.Cycle, e.Changes)
	}

	if err := h.loop.Redeploy(); err != nil {
		t.Fatal(err)
	}
	h.expect("deploy")
	h.event("redeploy cycle done", cycleEnded(events.StatusDone))

	if err := h.loop.Rebuild("nope"); err == nil || !strings.Contains(err.Error(), `no artifact "nope"`) {
		t.Fatalf("unknown artifact: %v", err)
	}
	h.quiet(100 * 1e6)
}
