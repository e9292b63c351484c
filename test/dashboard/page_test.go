package dashboardtest

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/dashboard"
	"github.com/devloop-dev/devloop/internal/events"
)

// fakeCluster is the table's lister, switched by the test.
type fakeCluster struct {
	mu   sync.Mutex
	rows []dashboard.Resource
	err  error
}

func (f *fakeCluster) set(rows []dashboard.Resource, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows, f.err = rows, err
}

func (f *fakeCluster) Resources(context.Context) ([]dashboard.Resource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows, f.err
}

// TestPageShowsWhatTheServerHas serves the dashboard with a fake cluster
// and devloop's events of a first cycle whose images were all in the
// cluster, and opens it in Chromium (no cluster needed): before anything
// is deployed the table is empty without an error; then every kind's row
// is drawn (a StatefulSet's claim, a Job, two Services); a failing lister
// is shown in the error bar, which clears once it answers again; Last
// build says each artifact was already in the cluster, with its tag; a
// reload shows the same.
func TestPageShowsWhatTheServerHas(t *testing.T) {
	if testing.Short() {
		t.Skip("drives Chromium; skipped with -short")
	}
	cluster := &fakeCluster{}
	srv := dashboard.New(zap.NewNop(), dashboard.Options{Resources: cluster})
	srv.SetArtifacts([]string{"web", "store"})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close) // after the browser's cleanup: its stream is closed by then

	now := time.Now()
	emit := func(e events.Event) { e.Time = now; srv.Emit(e) }
	emit(events.Event{Phase: events.PhaseCycle, Status: events.StatusStart, Cycle: 1, Changes: []string{"(start)"}})
	for _, a := range []string{"web:1ff2d8ba9c63a65d9094", "store:ebae7b78f877343cb33d"} {
		name := a[:len(a)-len(tagOf(a))-1]
		emit(events.Event{Phase: events.PhaseBuild, Status: events.StatusSkipped, Artifact: name, Image: a,
			Message: a + " is already in the cluster (containerd import)"})
		emit(events.Event{Phase: events.PhaseDeliver, Status: events.StatusSkipped, Artifact: name, Image: a, Message: "already in the cluster"})
	}
	emit(events.Event{Phase: events.PhaseApply, Status: events.StatusDone, DurationMs: 120, Message: "7 objects, 8 API writes"})
	emit(events.Event{Phase: events.PhaseCycle, Status: events.StatusDone, Cycle: 1, DurationMs: 16320, Message: "applied (8 written, 0 unchanged)"})
	emit(events.Event{Phase: events.PhasePortForward, Status: events.StatusInfo, Object: "service/web",
		URL: "http://127.0.0.1:18080", Message: "service/web:80 serving at http://127.0.0.1:18080"})

	b := startBrowser(t, nil)
	page := b.first("fake")
	page.do("the page loads and goes live", 30*time.Second, chromedp.Navigate(ts.URL+"/"), poll(`document.getElementById("conn").textContent === "live"`))
	builds := []build{
		{Artifact: "web", Status: events.StatusSkipped, Text: "already in the cluster (tag 1ff2d8ba9c63a65d9094)"},
		{Artifact: "store", Status: events.StatusSkipped, Text: "already in the cluster (tag ebae7b78f877343cb33d)"},
	}
	nothing := want{Forwards: []string{"http://127.0.0.1:18080"}, Builds: builds}
	page.until("nothing deployed: an empty table, no error", 10*time.Second, checkPage(nothing)+
		` || (document.querySelectorAll("#resources tbody tr").length === 0 ? "" : "rows in the table")`)
	time.Sleep(2500 * time.Millisecond) // a poll of the table or more
	page.until("still no error after the table was polled", 5*time.Second, checkPage(nothing))

	rows := []dashboard.Resource{
		{Kind: "Deployment", Name: "web", Namespace: "app", Status: "Current", Ready: "1/1", Age: "12s"},
		{Kind: "Job", Name: "seed", Namespace: "app", Status: "Current", Ready: "1/1", Reason: "Job Completed. succeeded: 1/1", Age: "12s"},
		{Kind: "PersistentVolumeClaim", Name: "data-store-0", Namespace: "app", Status: "Current", Reason: "PVC is Bound", Age: "2m"},
		{Kind: "Service", Name: "store", Namespace: "app", Status: "Current", Age: "12s"},
		{Kind: "Service", Name: "web", Namespace: "app", Status: "Current", Age: "12s"},
		{Kind: "StatefulSet", Name: "store", Namespace: "app", Status: "Current", Ready: "1/1", Age: "12s"},
	}
	cluster.set(rows, nil)
	all := nothing
	for _, r := range rows {
		all.Rows = append(all.Rows, row{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Status: r.Status})
	}
	page.until("every row once deployed", 10*time.Second, checkPage(all))
	page.shot("fake-deployed")

	cluster.set(nil, errors.New("listing pods in app: connection refused"))
	page.until("a failing lister is shown", 10*time.Second,
		`document.getElementById("errors").hidden ? "the error bar is hidden" : (document.getElementById("errors").textContent.includes("listing pods in app: connection refused") ? "" : "error bar: " + document.getElementById("errors").textContent)`)
	page.shot("fake-lister-failing")
	cluster.set(rows, nil)
	page.until("the error goes once the lister answers", 10*time.Second, checkPage(all)+
		` || (document.getElementById("errors").hidden ? "" : "the error bar is shown: " + document.getElementById("errors").textContent)`)

	page.do("reload", 30*time.Second, chromedp.Reload(), poll(`document.getElementById("conn").textContent === "live"`))
	page.until("the same after a reload", 10*time.Second, checkPage(all))

	// A failed build in the next cycle: its line says so, the error first.
	emit(events.Event{Phase: events.PhaseCycle, Status: events.StatusStart, Cycle: 2, Changes: []string{"web/main.go"}})
	emit(events.Event{Phase: events.PhaseBuild, Status: events.StatusStart, Artifact: "web", Image: "web:0000"})
	emit(events.Event{Phase: events.PhaseBuild, Status: events.StatusFailed, Artifact: "web", Image: "web:0000", DurationMs: 900,
		Message: "building web: exit status 1\n#9 [build 3/3] RUN go build\nERROR: process \"go build\" did not complete successfully"})
	emit(events.Event{Phase: events.PhaseCycle, Status: events.StatusFailed, Cycle: 2, Message: "building web: exit status 1"})
	page.until("the failed build in Last build", 10*time.Second, checkPage(want{Rows: all.Rows, Builds: []build{{Artifact: "web", Status: events.StatusFailed, Text: "ERROR: process"}}})+
		` || (document.querySelector('#build [data-artifact="store"]') ? "the previous cycle's store line is still shown" : "")`)
	page.shot("fake-build-failed")
}
