package dashboardtest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// artifactsDir is where the screenshots go: $DEVLOOP_TEST_ARTIFACTS/dashboard
// when that is set (CI keeps that directory), else .artifacts/dashboard/ at
// the repository's root (git-ignored).
func artifactsDir(t *testing.T) string {
	t.Helper()
	root := os.Getenv("DEVLOOP_TEST_ARTIFACTS")
	if root == "" {
		root = filepath.Join(testenv.RepoRoot(t), ".artifacts")
	}
	dir := filepath.Join(root, "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser is one headless Debian Chromium, 1280 px wide, with a fresh
// profile; its tabs are the pages a user would open.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string
	// describe is added to a failure's message (devloop's last events).
	describe func() string
}

func startBrowser(t *testing.T, describe func() string) *browser {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (make env-up installs Debian's chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1400))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// The first Do starts the browser: never under a timeout.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting %s: %v", chromium, err)
	}
	if describe == nil {
		describe = func() string { return "" }
	}
	return &browser{t: t, ctx: bctx, shots: artifactsDir(t), describe: describe}
}

// tab is one page of the browser. The first tab is the browser's own.
type tab struct {
	b    *browser
	ctx  context.Context
	name string
}

// first returns the tab the browser started with.
func (b *browser) first(name string) *tab { return &tab{b: b, ctx: b.ctx, name: name} }

// tab opens a new tab.
func (b *browser) tab(name string) *tab {
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		b.t.Fatalf("opening tab %s: %v", name, err)
	}
	return &tab{b: b, ctx: ctx, name: name}
}

// do runs actions within timeout; on failure it takes a screenshot and
// fails the test.
func (tb *tab) do(what string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.shot("failed-" + tb.name)
		tb.b.t.Fatalf("%s (%s): %v\n%s", what, tb.name, err, tb.b.describe())
	}
}

// until evaluates check, an expression giving "" once the page shows what
// is wanted and else what it lacks, every 200 ms until it gives "" or
// timeout passes; then the test fails with the last answer.
func (tb *tab) until(what string, timeout time.Duration, check string) {
	tb.b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](check))
		cancel()
		if err == nil && v == "" {
			return
		}
		last := v
		if err != nil {
			last = "evaluating: " + err.Error()
		}
		if time.Now().After(deadline) {
			tb.shot("failed-" + tb.name)
			tb.b.t.Fatalf("%s (%s), after %s the page lacks:\n%s\n%s", what, tb.name, timeout, last, tb.b.describe())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// eval evaluates expr and decodes its value into out.
func (tb *tab) eval(what, expr string, out any) {
	tb.b.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr))
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil {
		tb.b.t.Fatalf("%s (%s): %v", what, tb.name, err)
	}
}

// shot saves a full-page screenshot as name.png in the artifacts directory.
func (tb *tab) shot(name string) {
	path := filepath.Join(tb.b.shots, name+".png")
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err == nil {
		err = os.WriteFile(path, buf, 0o644)
	}
	if err != nil {
		tb.b.t.Logf("screenshot %s: %v", path, err)
		return
	}
	tb.b.t.Logf("screenshot: %s", path)
}

// poll is a chromedp step waiting for a JavaScript condition, bounded by
// the step's context only (chromedp's own 30 s default would cut the
// minutes a cold build gets).
func poll(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0))
}

// jsValue encodes v as a JavaScript literal.
func jsValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("jsValue: %v", err))
	}
	return string(b)
}
