package dashboardtest

import (
	"context"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

type event = devproc.Event

// dev is the test's `devloop dev` process, replaced on a restart.
type dev struct {
	t    *testing.T
	dir  string
	ns   string // the namespace the copy of the example deploys to
	args []string
	p    *devproc.Proc
	ui   string // the dashboard's URL
}

// launch starts devloop dev and waits for its ui event; a restart must
// serve the same URL.
func (d *dev) launch() {
	d.t.Helper()
	p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(d.t), Dir: d.dir, Args: d.args})
	if err != nil {
		d.t.Fatal(err)
	}
	d.p = p
	ui, _, err := p.WaitFor(context.Background(), 0, 2*time.Minute, func(e event) bool { return e.Phase == "ui" && e.URL != "" })
	if err != nil {
		d.t.Fatalf("no ui event with the dashboard's URL (%v)\n%s", err, p.Tail(40))
	}
	if ui.Status != "done" || (d.ui != "" && ui.URL != d.ui) {
		d.t.Fatalf("ui event %+v, want status done and url %s", ui, d.ui)
	}
	d.ui = ui.URL
}

// cycleEnded reports whether a cycle ended done already.
func (d *dev) cycleEnded() bool {
	for _, e := range d.p.Events() {
		if e.Is("cycle", "done") {
			return true
		}
	}
	return false
}

// settled waits for the first cycle to end done and the port-forward to
// serve.
func (d *dev) settled() {
	d.t.Helper()
	if _, _, err := d.p.WaitFor(context.Background(), 0, 5*time.Minute, func(e event) bool { return e.Is("cycle", "done") }); err != nil {
		d.t.Fatalf("devloop dev's first cycle did not end done within 5m (%v)\n%s", err, d.p.Tail(40))
	}
	if _, _, err := d.p.WaitFor(context.Background(), 0, time.Minute, func(e event) bool { return e.Phase == "portforward" && e.URL != "" }); err != nil {
		d.t.Fatalf("no port-forward within 1m of the first cycle (%v)\n%s", err, d.p.Tail(40))
	}
}

// cycleEnd waits for the end of a cycle started at event index from or
// later.
func (d *dev) cycleEnd(from int) {
	d.t.Helper()
	if _, _, err := d.p.WaitFor(context.Background(), from, 4*time.Minute, func(e event) bool {
		return e.Phase == "cycle" && e.Status != "start" && e.Status != "info" && e.Cycle > 0
	}); err != nil {
		d.t.Fatalf("no cycle ended (%v)\n%s", err, d.p.Tail(30))
	}
}

// quiet waits until devloop reported nothing for q (a minute at most).
func (d *dev) quiet(q time.Duration) {
	n := d.p.Len()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		time.Sleep(q)
		m := d.p.Len()
		if m == n {
			return
		}
		n = m
	}
}

// want is what the page must show given this process's events so far.
func (d *dev) want() want {
	evs := make([]events.Event, 0, d.p.Len())
	for _, e := range d.p.Events() {
		evs = append(evs, e.Event)
	}
	// The StatefulSet's claim, which the cluster makes from its template.
	rows := append(appliedRows(evs), row{Kind: "PersistentVolumeClaim", Namespace: d.ns, Name: "data-notes-store-0", Status: "Current"})
	return want{Rows: rows, Forwards: forwardURLs(evs), Builds: lastBuilds(evs)}
}
