// Package dashboardtest opens the dashboard in a real Chromium (Debian's
// chromium, headless, 1280 px wide, driven by chromedp).
//
// TestPageShowsWhatTheServerHas serves it with a fake cluster (no cluster
// needed). TestDashboardInChromium runs `devloop dev` on examples/notes and
// opens the page as a user does: before the first deploy, after it finished
// with nothing new happening, after a reload, and after devloop restarted
// (the open page reconnecting, and a new one); each time it waits for a row
// of every applied object (and the StatefulSet's claim) Current, the
// port-forward serving, Last build saying what happened to each artifact
// ("already in the cluster (tag ...)" after the restart), and no error of
// the page's own. It also checks an edit's cycle in the chart with its
// phases, a pod's log lines without duplicates, the rebuild button, the
// error bar while devloop is down, and requests from another origin
// refused.
//
// Screenshots go to $DEVLOOP_TEST_ARTIFACTS/dashboard/ when that is set,
// else to .artifacts/dashboard/ at the repository's root (git-ignored):
// before-first-deploy.png, after-deploy.png, after-reload.png,
// cycle-and-logs.png, devloop-stopped.png, after-restart.png,
// after-restart-new-page.png, fake-*.png, and failed-<page>.png when a step
// fails.
package dashboardtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

func TestDashboardInChromium(t *testing.T) {
	env := testenv.Require(t)
	dir, name := testenv.CopyExample(t, "notes")
	edit(t, filepath.Join(dir, "devloop.yaml"), "localPort: 8080", "localPort: "+strconv.Itoa(devproc.FreePort(t)))
	uiPort := devproc.FreePort(t)
	d := &dev{t: t, dir: dir, ns: name, args: []string{"dev", "-o", "json", "--ui-port", strconv.Itoa(uiPort)}}
	t.Cleanup(func() {
		if d.p != nil {
			d.p.Stop(2 * time.Minute)
		}
		r := env.Devloop(t, dir, 3*time.Minute, "delete", "--data")
		if r.Code != 0 {
			t.Logf("cleanup: devloop delete --data exited %d", r.Code)
		}
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	d.launch()
	if want := fmt.Sprintf("http://127.0.0.1:%d/", uiPort); d.ui != want {
		t.Fatalf("ui event url %s, want %s", d.ui, want)
	}
	b := startBrowser(t, func() string { return "devloop:\n" + d.p.Tail(30) })
	live := poll(`document.getElementById("conn").textContent === "live"`)

	// Before the first deploy: the page is open while devloop builds.
	early := b.first("early")
	early.do("the page opened before the first deploy goes live", 30*time.Second, chromedp.Navigate(d.ui), live)
	if d.cycleEnded() {
		t.Logf("the first cycle ended before the page went live: the early page saw a finished deploy")
	}
	d.settled()
	early.until("the page opened before the first deploy shows it", 2*time.Minute, checkPage(d.want()))
	early.shot("before-first-deploy")

	// After it finished, nothing new happening: a new page.
	d.quiet(3 * time.Second)
	page := b.tab("late")
	page.do("the page opened after the deploy goes live", 30*time.Second, chromedp.Navigate(d.ui), live)
	page.until("the page opened after the deploy shows it", time.Minute, checkPage(d.want()))
	page.shot("after-deploy")

	page.do("reload", 30*time.Second, chromedp.Reload(), live)
	page.until("the reloaded page shows the deploy", time.Minute, checkPage(d.want()))
	page.shot("after-reload")

	var lastCycle int
	page.eval("the newest cycle in the chart", `Math.max(0, ...[...document.querySelectorAll("#chart .row")].map(r => +r.dataset.cycle))`, &lastCycle)
	from := d.p.Len()
	edit(t, filepath.Join(dir, "web", "version.go"), `"v1"`, `"v-ui-`+name+`"`)
	row := fmt.Sprintf(`[...document.querySelectorAll("#chart .row.done")].find(r => +r.dataset.cycle > %d)`, lastCycle)
	page.do("an edit makes a new cycle appear in the chart with its phases", 4*time.Minute,
		poll(row+` !== undefined && `+row+`.querySelector(".bar").children.length >= 3`))
	var phases []string
	page.eval("read the new cycle's phases", `[...`+row+`.querySelector(".bar").children].map(s => s.title.split(" ")[0])`, &phases)
	t.Logf("the new cycle's phases in the chart: %v", phases)
	if !contains(phases, "build") || !contains(phases, "ready") {
		t.Errorf("the new cycle's bar shows %v, want build and ready among them", phases)
	}
	d.cycleEnd(from)
	page.until("the edit's cycle in Last build", time.Minute, checkPage(d.want()))

	page.do("a pod's log line appears", time.Minute,
		poll(`[...document.querySelectorAll("#logpod option")].some(o => o.value.startsWith("notes-web-"))`),
		poll(`document.querySelectorAll("#loglines div").length > 0`))
	var dupes []string
	page.eval("log lines shown twice", `(() => { const seen = new Set(), d = [];
		for (const l of state.logs) { const k = l.pod + "|" + l.text; if (seen.has(k)) d.push(k); seen.add(k); }
		return d; })()`, &dupes)
	if len(dupes) > 0 {
		t.Errorf("log lines shown twice: %v", dupes)
	}
	page.shot("cycle-and-logs")

	from = d.p.Len()
	page.do("click rebuild notes-web", 20*time.Second,
		chromedp.WaitVisible(`button[data-artifact="notes-web"]`), chromedp.Click(`button[data-artifact="notes-web"]`))
	if _, _, err := d.p.WaitFor(context.Background(), from, 3*time.Minute, func(e event) bool {
		return e.Phase == "build" && e.Status == "done" && e.Artifact == "notes-web"
	}); err != nil {
		t.Fatalf("the rebuild button did not build notes-web (%v)\n%s", err, d.p.Tail(30))
	}
	d.cycleEnd(from)
	page.until("the rebuild in Last build", time.Minute, checkPage(d.want()))

	// devloop stops: the open page says so, in the badge and the error bar.
	d.p.Stop(2 * time.Minute)
	page.do("the page notices devloop is gone", 30*time.Second,
		poll(`document.getElementById("conn").textContent === "devloop not answering"`),
		poll(`!document.getElementById("errors").hidden && document.getElementById("errors").textContent.includes("resources: /api/resources: devloop did not answer")`))
	page.shot("devloop-stopped")

	// devloop starts again (its Ctrl-C removed the objects but kept the
	// images and the claim): the open page reconnects, and a new one.
	d.launch()
	d.settled()
	after := d.want()
	for _, bl := range after.Builds {
		if bl.Status != "skipped" {
			t.Logf("after the restart %s was %s (%s), not found in the cluster", bl.Artifact, bl.Status, bl.Text)
		}
	}
	page.until("the open page shows the restarted devloop's deploy", 2*time.Minute, checkPage(after))
	page.shot("after-restart")
	fresh := b.tab("after-restart")
	fresh.do("a page opened after the restart goes live", 30*time.Second, chromedp.Navigate(d.ui), live)
	fresh.until("a page opened after the restart shows the deploy", time.Minute, checkPage(d.want()))
	fresh.shot("after-restart-new-page")

	// Another origin: a page served from another port of this machine tries
	// the button with fetch; devloop must not start anything.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<!doctype html><script>
fetch(%q, {method: "POST", headers: {"X-Devloop": "1"}}).then(r => document.title = "status " + r.status, e => document.title = "blocked");
fetch(%q, {method: "POST", mode: "no-cors"}).finally(() => document.body.dataset.done = "1");
</script>`, d.ui+"api/redeploy", d.ui+"api/rebuild?artifact=notes-web")
	}))
	t.Cleanup(evil.Close)
	d.quiet(2 * time.Second)
	from = d.p.Len()
	var title string
	fresh.do("a page of another origin tries the buttons", 20*time.Second,
		chromedp.Navigate(evil.URL), poll(`document.body.dataset.done === "1"`))
	fresh.eval("the other page's title", `document.title`, &title)
	t.Logf("the other origin's fetch ended with %q", title)
	if _, _, err := d.p.WaitFor(context.Background(), from, 5*time.Second, func(e event) bool { return e.Phase == "cycle" && e.Status == "start" }); err == nil {
		t.Fatalf("a page of another origin started a cycle")
	}
	req, _ := http.NewRequest(http.MethodPost, d.ui+"api/redeploy", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("X-Devloop", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-origin POST got %d, want 403", resp.StatusCode)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// edit replaces old with new in path; old must occur.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	testenv.Edit(t, path, old, new)
}
