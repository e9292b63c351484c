package teams

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// TestKubernetesDriverNotes: with build.builder naming the environment's
// buildx builder of the kubernetes driver (BuildKit pods in the test
// cluster), `devloop run` on examples/notes builds every image in the
// cluster, pushes it to the registry (nothing is loaded into the engine),
// deploys it by digest, the pods run that digest, and the build events name
// the builder and its driver. A multi-platform build through it pushes one
// index.
func TestKubernetesDriverNotes(t *testing.T) {
	env := testenv.Require(t)
	builder := requireBuilder(t, env, "DEVLOOP_BUILDER_K8S")
	dir, name := testenv.CopyExample(t, "notes")
	edit(t, dir, "devloop.yaml", "build:\n", "registry: "+env.Registry+"\nbuild:\n  builder: "+builder+"\n")
	// Content of this run only: the registry outlives the test, and a tag it
	// already holds is not built again.
	for _, c := range []string{"web", "store", "seed"} {
		edit(t, dir, c+"/main.go", "package main", "package main\n\n// "+name)
	}
	t.Cleanup(func() {
		_ = devloop(t, dir, nil, 3*time.Minute, "delete")
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})

	r := devloop(t, dir, nil, 15*time.Minute, "run", "-o", "json")
	if r.Code != 0 {
		t.Fatalf("devloop run on the kubernetes driver exited %d:\n%s", r.Code, tail(r.Output(), 40))
	}
	evs := events(t, r.Stdout)
	builds := doneBuilds(evs)
	deployed := map[string]string{}
	for _, e := range evs {
		if e.Phase == "deliver" && e.Artifact != "" {
			deployed[e.Artifact] = e.Image
		}
	}
	for _, img := range []string{"notes-web", "notes-store", "notes-seed"} {
		b, ok := builds[img]
		if !ok {
			t.Errorf("%s was not built (events: %v)", img, builds)
			continue
		}
		if b.Builder != builder || b.Driver != "kubernetes" {
			t.Errorf("build of %s: builder %q driver %q, want %q and kubernetes", img, b.Builder, b.Driver, builder)
		}
		if !strings.Contains(b.Message, "pushed") || !strings.Contains(b.Message, "driver kubernetes") {
			t.Errorf("build of %s: %q, want a push on the kubernetes driver named", img, b.Message)
		}
		repo, tag, _ := strings.Cut(strings.TrimPrefix(b.Image, env.Registry+"/"), ":")
		if repo != img || tag == "" {
			t.Errorf("build of %s wrote %q, want %s/%s:TAG", img, b.Image, env.Registry, img)
			continue
		}
		manifest(t, env, repo, tag) // fails the test when the registry lacks it
		if err := env.Command(context.Background(), "docker", "image", "inspect", img+":"+tag).Run(); err == nil {
			t.Errorf("%s:%s is in the engine: the kubernetes driver's build must not travel through it", img, tag)
		}
		if !strings.HasPrefix(deployed[img], env.Registry+"/"+img+"@sha256:") {
			t.Errorf("%s deployed as %q, want %s/%s@sha256:… (by digest)", img, deployed[img], env.Registry, img)
		}
	}
	digest := strings.TrimPrefix(deployed["notes-web"], env.Registry+"/notes-web@")
	ids := env.Kubectl(t, "-n", name, "get", "pods", "-l", "app.kubernetes.io/name=notes-web",
		"-o", "jsonpath={.items[*].status.containerStatuses[*].imageID}")
	if digest == "" || !strings.Contains(ids, digest) {
		t.Errorf("notes-web pods run %q, want the pushed digest %s", ids, digest)
	}

	t.Run("two platforms push one index", func(t *testing.T) {
		edit(t, dir, "web/main.go", "package main", "package main\n\n// two platforms")
		r := devloop(t, dir, nil, 15*time.Minute, "build", "--platform", "linux/amd64,linux/arm64", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop build for two platforms on the kubernetes driver exited %d:\n%s", r.Code, tail(r.Output(), 40))
		}
		b, ok := doneBuilds(events(t, r.Stdout))["notes-web"]
		if !ok || b.Driver != "kubernetes" {
			t.Fatalf("notes-web not built on the kubernetes driver: %+v", b)
		}
		_, tag, _ := strings.Cut(strings.TrimPrefix(b.Image, env.Registry+"/"), ":")
		mt, body := manifest(t, env, "notes-web", tag)
		if !strings.Contains(mt, "index") && !strings.Contains(mt, "manifest.list") {
			t.Fatalf("notes-web:%s is a %s, want one index", tag, mt)
		}
		for _, arch := range []string{`"amd64"`, `"arm64"`} {
			if !strings.Contains(body, arch) {
				t.Errorf("the index lacks %s: %s", arch, body)
			}
		}
	})
}
