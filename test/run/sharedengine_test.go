package runtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// Shared-engine clusters (Docker Desktop, minikube's docker-env, or any
// cluster given --delivery engine) run images from the engine devloop builds
// into. The engine is asked whether the tag is there: the first build builds,
// the image is in the engine afterwards, the second builds nothing, and an
// image removed from the engine is built again. (Before, presence was
// assumed, so nothing was ever built.) Impersonated: the real engine, with
// --delivery engine instead of Docker Desktop's cluster, which cannot run here.
func TestSharedEngineBuild(t *testing.T) {
	env := testenv.Require(t)
	dir, name := testenv.CopyExample(t, "notes")
	// A version no other test built: tags are content hashes.
	edit(t, dir, "web/version.go", `"v1"`, `"v-`+name+`"`)
	build := func(t *testing.T) (map[string]string, string) {
		t.Helper()
		r := devloop(t, dir, nil, 10*time.Minute, "build", "--delivery", "engine", "-o", "json")
		evs := parseEvents(t, r.Stdout)
		if r.Code != 0 {
			t.Fatalf("devloop build exited %d:%s\n%s", r.Code, dump(evs), tail(r.Stderr, 30))
		}
		var ref string
		for _, e := range filter(evs, "build", "") {
			if e.Artifact == "notes-web" && e.Image != "" {
				ref = e.Image
			}
		}
		if det := filter(evs, "detect", "done"); len(det) != 1 || !strings.Contains(det[0].Message, "shared-engine") {
			t.Fatalf("detect:%s; want the shared engine", dump(det))
		}
		return buildStatus(evs), ref
	}
	inEngine := func(ref string) bool {
		return env.Command(context.Background(), "docker", "image", "inspect", ref).Run() == nil
	}

	st, ref := build(t)
	if st["notes-web"] != "done" {
		t.Fatalf("first build of notes-web: %q, want done (built into the engine)", st["notes-web"])
	}
	t.Cleanup(func() { _ = env.Command(context.Background(), "docker", "image", "rm", ref).Run() })
	if !inEngine(ref) {
		t.Fatalf("%s is not in the engine after the build", ref)
	}
	st, _ = build(t)
	for a, s := range st {
		if s != "skipped" {
			t.Errorf("second build of %s: %s, want skipped (the engine has it)", a, s)
		}
	}
	testenv.MustRun(t, env.Command(context.Background(), "docker", "image", "rm", ref))
	if st, _ = build(t); st["notes-web"] != "done" || !inEngine(ref) {
		t.Errorf("after docker image rm %s: build %q, in engine %v; want it built again", ref, st["notes-web"], inEngine(ref))
	}
}
