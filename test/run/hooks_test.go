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

// Hooks on the real cluster: a before-build hook that writes into the
// context is seen by the hash, host hooks get the DEVLOOP_* environment,
// deploy hooks run around the apply and the rollout in that order, a
// container hook runs in each selected pod, and a failing before-deploy
// hook stops the deploy with its exit code and last lines.
func TestHooks(t *testing.T) {
	env := testenv.Require(t)
	dir, name := testenv.CopyExample(t, "notes")
	t.Cleanup(func() {
		_ = devloop(t, dir, nil, 3*time.Minute, "delete", "--data")
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	out := t.TempDir()
	hooks := `      hooks:
        before: [{command: ["sh", "-c", "echo generated-` + name + ` > generated.txt; echo before-build $DEVLOOP_IMAGE $DEVLOOP_TAG >> ` + out + `/log"], dir: web}]
        after: [{command: ["sh", "-c", "echo after-build $DEVLOOP_IMAGE_REF $DEVLOOP_KUBE_CONTEXT >> ` + out + `/log"]}]
`
	edit(t, dir, "devloop.yaml", "    - image: notes-web # the name the manifests use; devloop rewrites it to the built tag\n      context: web\n",
		"    - image: notes-web\n      context: web\n"+hooks)
	edit(t, dir, "devloop.yaml", "  statusTimeout: 3m\n", `  statusTimeout: 3m
  hooks:
    before: [{command: ["sh", "-c", "echo before-deploy $DEVLOOP_NAMESPACE $DEVLOOP_CONFIG_DIR >> `+out+`/log"]}]
    after:
      - command: ["sh", "-c", "echo after-deploy >> `+out+`/log"]
      - container: {selector: "app.kubernetes.io/name=notes-web"}
        command: ["sh", "-c", "echo in-container $(hostname)"]
`)
	r := devloop(t, dir, nil, 10*time.Minute, "run", "-o", "json")
	evs := parseEvents(t, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("devloop run exited %d:%s\n%s", r.Code, dump(evs), tail(r.Stderr, 30))
	}
	b, err := os.ReadFile(filepath.Join(out, "log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	t.Logf("hook log:\n%s", b)
	wantPrefixes := []string{"before-build notes-web ", "after-build notes-web:", "before-deploy " + name + " " + dir, "after-deploy"}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("hooks ran %d times, want %d:\n%s", len(lines), len(wantPrefixes), b)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("hook %d wrote %q, want it to start with %q", i+1, lines[i], p)
		}
	}
	if !strings.Contains(lines[1], " "+env.KubeContext) {
		t.Errorf("after-build hook saw %q, want the kube context %s", lines[1], env.KubeContext)
	}
	// The file the before-build hook wrote is in the image's context: the
	// tag devloop deployed is the hash after the hook.
	if got := readFile(t, dir, "web/generated.txt"); !strings.Contains(got, "generated-"+name) {
		t.Fatalf("web/generated.txt = %q", got)
	}
	var order []string
	for _, e := range evs {
		switch {
		case e.Phase == "hook" && e.Status == "done":
			order = append(order, "hook:"+strings.SplitN(e.Message, " hook", 2)[0])
		case (e.Phase == "build" && e.Artifact == "notes-web" && e.Status == "done") || (e.Phase == "apply" && e.Status == "start") || (e.Phase == "status" && e.Status == "done"):
			order = append(order, e.Phase)
		}
	}
	want := "hook:before build,build,hook:after build,hook:before deploy,apply,status,hook:after deploy,hook:after deploy"
	if strings.Join(order, ",") != want {
		t.Errorf("order %v, want %s", order, want)
	}
	if !strings.Contains(r.Stderr, "[hook after deploy notes-web-") || !strings.Contains(r.Stderr, "in-container notes-web-") {
		t.Errorf("the container hook's output is not on stderr with its prefix:\n%s", tail(r.Stderr, 20))
	}

	// A failing before-deploy hook stops the deploy, naming its exit code
	// and its last lines; nothing is applied.
	edit(t, dir, "devloop.yaml", `echo before-deploy $DEVLOOP_NAMESPACE`, `echo migration failed: table locked; exit 4; echo`)
	edit(t, dir, "web/version.go", `"v1"`, `"v-hooks-`+name+`"`)
	r = devloop(t, dir, nil, 10*time.Minute, "run", "-o", "json")
	evs = parseEvents(t, r.Stdout)
	if r.Code != 1 {
		t.Fatalf("devloop run with a failing before-deploy hook exited %d, want 1:%s", r.Code, dump(evs))
	}
	if len(filter(evs, "apply", "start")) != 0 {
		t.Errorf("the apply started after a failing before-deploy hook:%s", dump(evs))
	}
	failed := filter(evs, "hook", "failed")
	if len(failed) != 1 || !strings.Contains(failed[0].Message, "exited 4") || !strings.Contains(failed[0].Message, "migration failed: table locked") {
		t.Errorf("failed hook events:%s; want exit 4 and the last line", dump(failed))
	}
}
