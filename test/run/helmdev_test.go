package runtest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// `devloop dev -p helm` on the real cluster: the release is installed; a
// before-deploy hook that fails stops that cycle's deploy (the release is
// not upgraded) and dev keeps watching: the next change upgrades it.
// Ctrl-C uninstalls the release and keeps the store's claim.
func TestHelmDev(t *testing.T) {
	env := testenv.Require(t)
	dir, ns := helmExample(t, env)
	devproc.SetLocalPort(t, dir, devproc.FreePort(t))
	flag := filepath.Join(t.TempDir(), "fail")
	edit(t, dir, "devloop.yaml", "  statusTimeout: 3m\n", `  statusTimeout: 3m
  hooks:
    before: [{command: ["sh", "-c", "if [ -e `+flag+` ]; then echo refusing; exit 3; fi"]}]
`)
	p := devproc.Start(t, testenv.Binary(t), dir, "dev", "-p", "helm", "-o", "json")
	ev, next := p.Next(t, 0, 8*time.Minute, "helm done", func(e devproc.Event) bool { return e.Is("helm", "done") })
	if !strings.Contains(ev.Message, "installed revision 1") {
		t.Fatalf("first helm event %q, want the install", ev.Message)
	}
	_, next = p.Next(t, next, 5*time.Minute, "cycle done", func(e devproc.Event) bool { return e.Is("cycle", "done") })

	// The hook fails: no upgrade, the cycle fails, dev goes on.
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	devproc.SetVersion(t, dir, "v-helm-dev-1")
	ev, next = p.Next(t, next, 5*time.Minute, "hook or helm", func(e devproc.Event) bool {
		return e.Is("hook", "failed") || e.Is("helm", "done")
	})
	if ev.Phase != "hook" || !strings.Contains(ev.Message, "exit") {
		t.Fatalf("got %s, want the before-deploy hook failing", ev)
	}
	_, next = p.Next(t, next, time.Minute, "cycle failed", func(e devproc.Event) bool { return e.Is("cycle", "failed") })
	if got := kubectl(t, env, "get", "secrets", "-n", ns, "-l", "owner=helm,name=notes", "-o", "name"); strings.Count(got, "secret/") != 1 {
		t.Errorf("release revisions after the failed hook: %q, want revision 1 only", got)
	}

	// Fixed: the next change upgrades.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	devproc.SetVersion(t, dir, "v-helm-dev-2")
	ev, next = p.Next(t, next, 5*time.Minute, "helm done", func(e devproc.Event) bool { return e.Is("helm", "done") })
	if !strings.Contains(ev.Message, "upgraded revision 2") {
		t.Errorf("after the fix: %q, want revision 2", ev.Message)
	}
	_, next = p.Next(t, next, 5*time.Minute, "cycle done", func(e devproc.Event) bool { return e.Is("cycle", "done") })

	// Ctrl-C: uninstalled, claim kept.
	p.Signal(t, syscall.SIGINT)
	if code, ok := p.WaitExit(2 * time.Minute); !ok || (code != 0 && code != 130) {
		t.Fatalf("exit %d (exited %v) after SIGINT\n%s", code, ok, p.Tail(30))
	}
	if _, _, err := p.NextErr(next, 0, func(e devproc.Event) bool { return e.Is("cleanup", "done") }); err != nil {
		t.Errorf("no cleanup done event\n%s", p.Tail(20))
	}
	if got := kubectl(t, env, "get", "secrets", "-n", ns, "-l", "owner=helm,name=notes", "-o", "name"); got != "" {
		t.Errorf("release secrets after Ctrl-C: %q", got)
	}
	if got := kubectl(t, env, "get", "deployments,statefulsets,jobs", "-n", ns, "-o", "name"); got != "" {
		t.Errorf("left after Ctrl-C: %q", got)
	}
	if got := kubectl(t, env, "get", "pvc", "-n", ns, "-o", "name"); got != "persistentvolumeclaim/data-notes-store-0" {
		t.Errorf("claims after Ctrl-C: %q, want data-notes-store-0 kept", got)
	}
}
