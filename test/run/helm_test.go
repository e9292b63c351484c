package runtest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// helmExample copies examples/notes with its helm profile's release in a
// namespace of its own (the config's name) and returns the directory and
// that namespace. Cleanup uninstalls and deletes the namespace.
func helmExample(t *testing.T, env *testenv.Env) (dir, ns string) {
	t.Helper()
	dir, ns = testenv.CopyExample(t, "notes")
	edit(t, dir, "devloop.yaml", "namespace: notes-dev", "namespace: "+ns)
	t.Cleanup(func() {
		_ = devloop(t, dir, nil, 3*time.Minute, "delete", "-p", "helm", "--data")
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", ns, "--wait=false", "--ignore-not-found").Run()
	})
	return dir, ns
}

// kubectl runs kubectl against the test cluster and returns its trimmed output.
func kubectl(t *testing.T, env *testenv.Env, args ...string) string {
	t.Helper()
	out, err := env.Command(context.Background(), "kubectl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// helmDone is the message of the helm phase's done event of the release.
func helmDone(t *testing.T, evs []event) string {
	t.Helper()
	for _, e := range filter(evs, "helm", "done") {
		return e.Message
	}
	t.Fatalf("no helm done event:%s", dump(evs))
	return ""
}

// The chart of examples/notes on the real cluster: installed with its
// post-install hook (the seed Job) and the images devloop built, left alone
// when nothing changed, upgraded by an image change and by a values change
// without the hook running again (its pods counted across the three
// redeploys), devloop's own deploy hooks around the release; delete
// uninstalls it and keeps the store's claim, delete --data removes it.
func TestHelmRelease(t *testing.T) {
	env := testenv.Require(t)
	testenv.Binary(t) // built before the first bounded run
	dir, ns := helmExample(t, env)
	hookLog := filepath.Join(t.TempDir(), "log")
	edit(t, dir, "devloop.yaml", "  statusTimeout: 3m\n", `  statusTimeout: 3m
  hooks:
    before: [{command: ["sh", "-c", "echo before-deploy $DEVLOOP_NAMESPACE >> `+hookLog+`"]}]
    after: [{command: ["sh", "-c", "echo after-deploy >> `+hookLog+`"]}]
`)
	seedPods := func() string {
		return kubectl(t, env, "get", "pods", "-n", ns, "-l", "batch.kubernetes.io/job-name=notes-seed", "-o", "name")
	}
	revisions := func() string {
		return kubectl(t, env, "get", "secrets", "-n", ns, "-l", "owner=helm,name=notes", "-o", "jsonpath={.items[*].metadata.labels.version}")
	}
	image := func(kind, name string) string {
		return kubectl(t, env, "get", kind, name, "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}")
	}

	// 1. Install.
	r := devloop(t, dir, nil, 10*time.Minute, "run", "-p", "helm", "-o", "json")
	evs := parseEvents(t, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("devloop run exited %d:%s\n%s", r.Code, dump(evs), tail(r.Stderr, 30))
	}
	if msg := helmDone(t, evs); !strings.Contains(msg, "installed revision 1 in "+ns) || !strings.Contains(msg, "post-install Job/notes-seed: Succeeded") {
		t.Errorf("helm event %q, want an install with the post-install hook", msg)
	}
	var order []string
	for _, e := range evs {
		switch {
		case e.Phase == "hook" && e.Status == "done":
			order = append(order, "hook:"+strings.SplitN(e.Message, " hook", 2)[0])
		case (e.Phase == "helm" || e.Phase == "status") && e.Status == "done", e.Phase == "apply" && e.Status == "start":
			order = append(order, e.Phase)
		}
	}
	if got, want := strings.Join(order, ","), "hook:before deploy,helm,status,hook:after deploy"; got != want {
		t.Errorf("order %s, want %s (no kustomize apply in the helm profile)", got, want)
	}
	if b, err := os.ReadFile(hookLog); err != nil || string(b) != "before-deploy "+ns+"\nafter-deploy\n" {
		t.Errorf("hook log %q (%v), want the before-deploy hook seeing the release namespace %s, then after-deploy", b, err, ns)
	}
	web1 := image("deployment", "notes-web")
	if !strings.HasPrefix(web1, "notes-web:") && !strings.Contains(web1, "/notes-web") {
		t.Fatalf("notes-web runs %q, want the built reference", web1)
	}
	if seed := kubectl(t, env, "get", "job", "notes-seed", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"); seed == "notes-seed" {
		t.Errorf("the hook Job runs %q: its image was not rewritten", seed)
	}
	if l := kubectl(t, env, "get", "deployment", "notes-web", "-n", ns, "-o", "jsonpath={.metadata.labels.app\\.kubernetes\\.io/managed-by}"); l != "Helm" {
		t.Errorf("notes-web managed-by %q, want Helm", l)
	}
	if p := seedPods(); strings.Count(p, "pod/") != 1 {
		t.Fatalf("seed pods after install: %q, want 1", p)
	}

	// 2. Nothing changed: no upgrade, no hook.
	r = devloop(t, dir, nil, 10*time.Minute, "run", "-p", "helm", "-o", "json")
	evs = parseEvents(t, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("second run exited %d:%s", r.Code, dump(evs))
	}
	if msg := helmDone(t, evs); !strings.Contains(msg, "unchanged revision 1") {
		t.Errorf("second run: %q, want the release unchanged", msg)
	}

	// 3. An image change upgrades the release.
	edit(t, dir, "web/version.go", `"v1"`, `"v1-helm"`)
	r = devloop(t, dir, nil, 10*time.Minute, "run", "-p", "helm", "-o", "json")
	evs = parseEvents(t, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("third run exited %d:%s\n%s", r.Code, dump(evs), tail(r.Stderr, 30))
	}
	if msg := helmDone(t, evs); !strings.Contains(msg, "upgraded revision 2") || strings.Contains(msg, "post-install") {
		t.Errorf("third run: %q, want an upgrade to revision 2 without the post-install hook", msg)
	}
	if web2 := image("deployment", "notes-web"); web2 == web1 {
		t.Errorf("notes-web still runs %s after the image change", web2)
	}

	// 4. A values change upgrades it too.
	edit(t, dir, "charts/notes/values-dev.yaml", "Notes (Helm)", "Notes (Helm, edited)")
	r = devloop(t, dir, nil, 10*time.Minute, "run", "-p", "helm", "-o", "json")
	evs = parseEvents(t, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("fourth run exited %d:%s", r.Code, dump(evs))
	}
	if msg := helmDone(t, evs); !strings.Contains(msg, "upgraded revision 3") {
		t.Errorf("fourth run: %q, want revision 3", msg)
	}
	if got := kubectl(t, env, "get", "configmap", "notes-config", "-n", ns, "-o", "jsonpath={.data.PAGE_TITLE}"); got != "Notes (Helm, edited)" {
		t.Errorf("PAGE_TITLE %q", got)
	}
	if got := revisions(); len(strings.Fields(got)) != 3 {
		t.Errorf("release revisions %q, want 3 in Helm's secrets", got)
	}
	if p := seedPods(); strings.Count(p, "pod/") != 1 {
		t.Errorf("seed pods after three redeploys: %q, want the one of the install", p)
	}

	// 5. delete uninstalls and keeps the store's claim; --data deletes it.
	r = devloop(t, dir, nil, 3*time.Minute, "delete", "-p", "helm")
	if r.Code != 0 {
		t.Fatalf("delete exited %d:\n%s", r.Code, r.Output())
	}
	if got := revisions(); got != "" {
		t.Errorf("release secrets left after uninstall: %q", got)
	}
	if got := kubectl(t, env, "get", "deployments,statefulsets,services,jobs", "-n", ns, "-o", "name"); got != "" {
		t.Errorf("left after uninstall: %s", got)
	}
	if got := kubectl(t, env, "get", "pvc", "-n", ns, "-o", "name"); got != "persistentvolumeclaim/data-notes-store-0" {
		t.Fatalf("claims after uninstall: %q, want data-notes-store-0 kept", got)
	}
	r = devloop(t, dir, nil, 3*time.Minute, "delete", "-p", "helm", "--data")
	if r.Code != 0 {
		t.Fatalf("delete --data exited %d:\n%s", r.Code, r.Output())
	}
	if got := kubectl(t, env, "get", "pvc", "-n", ns, "-o", "name"); got != "" {
		t.Errorf("claims after delete --data: %q", got)
	}
}

// Errors of a chart: one that does not render exits 1 with the chart's own
// message before any build; a value path that is not in the chart is a
// configuration error (exit 2, with its position); a hook Job that fails
// stops the deploy with the hook's name and the last lines of its log.
func TestHelmErrors(t *testing.T) {
	env := testenv.Require(t)
	testenv.Binary(t) // built before the first bounded run
	t.Run("chart does not render", func(t *testing.T) {
		dir, _ := helmExample(t, env)
		writeFile(t, dir, "charts/notes/templates/broken.yaml", `{{ required "notes: set .Values.mustBeSet" .Values.mustBeSet }}`+"\n")
		r := devloop(t, dir, nil, 5*time.Minute, "run", "-p", "helm")
		if r.Code != 1 || !strings.Contains(r.Stderr, "notes: set .Values.mustBeSet") {
			t.Fatalf("exit %d, want 1 with the chart's message:\n%s", r.Code, tail(r.Stderr, 20))
		}
		if strings.Contains(r.Output(), "building") {
			t.Errorf("a build ran before the chart error:\n%s", r.Output())
		}
	})
	t.Run("value path missing", func(t *testing.T) {
		dir, _ := helmExample(t, env)
		edit(t, dir, "devloop.yaml", "{web.image: notes-web,", "{web.imag: notes-web,")
		r := devloop(t, dir, nil, time.Minute, "run", "-p", "helm")
		if r.Code != 2 || !strings.Contains(r.Stderr, `devloop.yaml:`) || !strings.Contains(r.Stderr, `the value path "web.imag" does not exist in the values of chart charts/notes (web has: image, replicas)`) {
			t.Fatalf("exit %d, want 2 naming the path:\n%s", r.Code, r.Stderr)
		}
	})
	t.Run("hook fails", func(t *testing.T) {
		dir, _ := helmExample(t, env)
		edit(t, dir, "devloop.yaml", `setValues: {web.replicas: "1"}`, `setValues: {web.replicas: "1", seed.waitTimeout: "soon", seed.backoffLimit: "0"}`)
		r := devloop(t, dir, nil, 10*time.Minute, "run", "-p", "helm")
		if r.Code != 1 {
			t.Fatalf("exit %d, want 1:\n%s", r.Code, tail(r.Stderr, 30))
		}
		for _, want := range []string{"hook post-install Job/notes-seed failed", "parsing WAIT_TIMEOUT"} {
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, tail(r.Stderr, 30))
			}
		}
	})
}
