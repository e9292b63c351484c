// Package dashboardtest opens the dashboard of a running `devloop dev` on
// examples/notes in a real Chromium (Debian's chromium, driven by chromedp)
// and checks what the page promises: resources shown Ready, an edit making
// a new cycle appear in the chart with its phases, a pod's log line, the
// rebuild button starting a cycle, and requests from another origin refused.
// Screenshots go to .artifacts/dashboard/ (git-ignored).
package dashboardtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

type event = devproc.Event

func TestDashboardInChromium(t *testing.T) {
	env := testenv.Require(t)
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (make env-up installs Debian's chromium): %v", err)
	}
	dir, name := testenv.CopyExample(t, "notes")
	edit(t, filepath.Join(dir, "devloop.yaml"), "localPort: 8080", "localPort: "+strconv.Itoa(devproc.FreePort(t)))
	uiPort := devproc.FreePort(t)
	p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(t), Dir: dir,
		Args: []string{"dev", "-o", "json", "--ui-port", strconv.Itoa(uiPort)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(2 * time.Minute)
		r := env.Devloop(t, dir, 3*time.Minute, "delete", "--data")
		if r.Code != 0 {
			t.Logf("cleanup: devloop delete --data exited %d", r.Code)
		}
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	ui, _, err := p.WaitFor(context.Background(), 0, 2*time.Minute, func(e event) bool { return e.Phase == "ui" && e.URL != "" })
	if err != nil {
		t.Fatalf("no ui event with the dashboard's URL (%v)\n%s", err, p.Tail(40))
	}
	if want := fmt.Sprintf("http://127.0.0.1:%d/", uiPort); ui.URL != want || ui.Status != "done" {
		t.Fatalf("ui event %+v, want status done and url %s", ui, want)
	}
	if _, _, err := p.WaitFor(context.Background(), 0, 5*time.Minute, func(e event) bool { return e.Phase == "portforward" && e.URL != "" }); err != nil {
		t.Fatalf("devloop dev did not deploy and forward within 5m\n%s", p.Tail(40))
	}

	artifacts := filepath.Join(testenv.RepoRoot(t), ".artifacts", "dashboard")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1400))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first Run starts the browser: never under a timeout.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	run := func(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, timeout)
		defer cancel()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot(bctx, t, filepath.Join(artifacts, "failed.png"))
			t.Fatalf("%s: %v\ndevloop:\n%s", what, err, p.Tail(30))
		}
	}
	// No polling timeout of chromedp's own (30 s by default, which cut the
	// 4 min a cold build gets): each step's context bounds it.
	js := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0))
	}
	eval := func(what, expr string, out any) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			return evaluateInto(ctx, tg, expr, out)
		})); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	run("the page loads and goes live", 30*time.Second,
		chromedp.Navigate(ui.URL),
		js(`document.getElementById("conn").textContent === "live"`))
	run("the resources are shown Ready", time.Minute,
		js(`[...document.querySelectorAll('#resources tr[data-kind="Deployment"][data-name="notes-web"] td')].some(td => td.textContent === "Current")`),
		js(`[...document.querySelectorAll('#resources tr[data-kind="StatefulSet"][data-name="notes-store"] td')].some(td => td.textContent === "1/1")`))
	shot(bctx, t, filepath.Join(artifacts, "ready.png"))

	var lastCycle int
	eval("the newest cycle in the chart", `Math.max(0, ...[...document.querySelectorAll("#chart .row")].map(r => +r.dataset.cycle))`, &lastCycle)
	edit(t, filepath.Join(dir, "web", "version.go"), `"v1"`, `"v-ui-`+name+`"`)
	row := fmt.Sprintf(`[...document.querySelectorAll("#chart .row.done")].find(r => +r.dataset.cycle > %d)`, lastCycle)
	run("an edit makes a new cycle appear in the chart with its phases", 4*time.Minute,
		js(row+` !== undefined && `+row+`.querySelector(".bar").children.length >= 3`))
	var phases []string
	eval("read the new cycle's phases", `[...`+row+`.querySelector(".bar").children].map(s => s.title.split(" ")[0])`, &phases)
	t.Logf("the new cycle's phases in the chart: %v", phases)
	if !contains(phases, "build") || !contains(phases, "ready") {
		t.Errorf("the new cycle's bar shows %v, want build and ready among them", phases)
	}

	run("a pod's log line appears", time.Minute,
		js(`[...document.querySelectorAll("#logpod option")].some(o => o.value.startsWith("notes-web-"))`),
		js(`document.querySelectorAll("#loglines div").length > 0`))
	var dupes []string
	eval("log lines shown twice", `(() => { const seen = new Set(), d = [];
		for (const l of state.logs) { const k = l.pod + "|" + l.text; if (seen.has(k)) d.push(k); seen.add(k); }
		return d; })()`, &dupes)
	if len(dupes) > 0 {
		t.Errorf("log lines shown twice: %v", dupes)
	}
	shot(bctx, t, filepath.Join(artifacts, "cycle-and-logs.png"))

	from := p.Len()
	run("click rebuild notes-web", 20*time.Second,
		chromedp.WaitVisible(`button[data-artifact="notes-web"]`), chromedp.Click(`button[data-artifact="notes-web"]`))
	if _, _, err := p.WaitFor(context.Background(), from, 3*time.Minute, func(e event) bool {
		return e.Phase == "build" && e.Status == "done" && e.Artifact == "notes-web"
	}); err != nil {
		t.Fatalf("the rebuild button did not build notes-web (%v)\n%s", err, p.Tail(30))
	}

	// Another origin: a page served from another port of this machine tries
	// the button with fetch; devloop must not start anything.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<!doctype html><script>
fetch(%q, {method: "POST", headers: {"X-Devloop": "1"}}).then(r => document.title = "status " + r.status, e => document.title = "blocked");
fetch(%q, {method: "POST", mode: "no-cors"}).finally(() => document.body.dataset.done = "1");
</script>`, ui.URL+"api/redeploy", ui.URL+"api/rebuild?artifact=notes-web")
	}))
	defer evil.Close()
	time.Sleep(2 * time.Second) // let the rebuild's cycle end
	from = p.Len()
	var title string
	run("a page of another origin tries the buttons", 20*time.Second,
		chromedp.Navigate(evil.URL), js(`document.body.dataset.done === "1"`))
	eval("the other page's title", `document.title`, &title)
	t.Logf("the other origin's fetch ended with %q", title)
	if _, _, err := p.WaitFor(context.Background(), from, 5*time.Second, func(e event) bool { return e.Phase == "cycle" && e.Status == "start" }); err == nil {
		t.Fatalf("a page of another origin started a cycle")
	}
	req, _ := http.NewRequest(http.MethodPost, ui.URL+"api/redeploy", nil)
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

func shot(ctx context.Context, t *testing.T, path string) {
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", path, err)
		return
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Logf("screenshot %s: %v", path, err)
		return
	}
	t.Logf("screenshot: %s", path)
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

// evaluateInto evaluates a JavaScript expression in the page and decodes its
// value into out.
func evaluateInto(ctx context.Context, tg *chromedp.Target, expr string, out any) error {
	switch o := out.(type) {
	case *int:
		v, err := chromedp.Evaluate[int](expr)(ctx, tg)
		*o = v
		return err
	case *string:
		v, err := chromedp.Evaluate[string](expr)(ctx, tg)
		*o = v
		return err
	case *[]string:
		v, err := chromedp.Evaluate[[]string](expr)(ctx, tg)
		*o = v
		return err
	}
	return fmt.Errorf("evaluateInto: unsupported %T", out)
}
