package kindtest

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// TestKindNotes walks examples/notes through `devloop run` and `devloop dev`
// on the real kind cluster, step by step: both delivery paths, pods Running
// what was delivered, the page served through devloop's port-forward.
func TestKindNotes(t *testing.T) {
	env := testenv.RequireKind(t)
	dir, name := testenv.CopyExample(t, "notes")
	edit(t, filepath.Join(dir, "devloop.yaml"), "localPort: 8080", "localPort: "+strconv.Itoa(devproc.FreePort(t)))
	k := newKit(t, env, dir, name)
	node := env.KindCluster + "-control-plane"
	refs := map[string]string{}
	// Content no earlier run built: tags are content hashes, and an image
	// already in the node or the registry would rightly not move again.
	for _, f := range []string{"web/main.go", "store/main.go", "seed/main.go"} {
		edit(t, filepath.Join(dir, f), "package main", "package main\n\n// Built by TestKindNotes "+name+".")
	}

	step := func(name string, f func(t *testing.T)) {
		if !t.Run(name, func(t *testing.T) { k.t = t; f(t) }) {
			t.FailNow()
		}
	}

	step("run with --delivery import: detected from the node, images in its containerd, pods Running them", func(t *testing.T) {
		evs := k.run("--delivery", "import")
		det := filter(evs, "detect", "done")
		if len(det) != 1 || !strings.Contains(det[0].Message, `kind cluster "`+env.KindCluster+`"`) ||
			!strings.Contains(det[0].Message, "provider ID kind://") {
			t.Fatalf("detect events %s; want the kind cluster named from its node's provider ID", dump(det))
		}
		listed, err := env.Command(context.Background(), "docker", "exec", node, "ctr", "-n", "k8s.io", "images", "ls", "-q").Output()
		if err != nil {
			t.Fatalf("ctr images ls in %s: %v", node, err)
		}
		for _, a := range []string{"notes-web", "notes-store", "notes-seed"} {
			d, ok := byArtifact(evs, "deliver")[a]
			if !ok || d.Status != "done" || !strings.Contains(d.Message, "kind node import") || d.Bytes == 0 {
				t.Fatalf("deliver of %s: %+v; want a kind node import that moved bytes%s", a, d, dump(evs))
			}
			refs[a] = d.Image
			if !strings.Contains(string(listed), "docker.io/library/"+d.Image+"\n") {
				t.Errorf("%s is not in the node's containerd:\n%s", d.Image, listed)
			}
		}
		for _, app := range []string{"notes-web", "notes-store"} {
			k.assertRunning("app.kubernetes.io/name="+app, refs[app])
		}
		if got := k.kubectl("get", "job", "notes-seed", "-o", "jsonpath={.status.succeeded}"); got != "1" {
			t.Errorf("Job notes-seed succeeded = %q, want 1", got)
		}
	})

	step("the page is served through devloop's port-forward", func(t *testing.T) {
		if got := k.forwardAndGet("/version", "--delivery", "import"); !strings.Contains(got, "v1") {
			t.Errorf("GET /version = %q, want v1", got)
		}
	})

	step("a second run builds nothing and moves nothing", func(t *testing.T) {
		evs := k.run("--delivery", "import")
		for a, e := range byArtifact(evs, "build") {
			if e.Status != "skipped" {
				t.Errorf("build of %s: %s, want skipped", a, e.Status)
			}
		}
		if d := filter(evs, "deliver", "done"); len(d) != 0 {
			t.Errorf("deliveries on an unchanged tree:%s", dump(d))
		}
		if done := filter(evs, "apply", "done"); len(done) != 1 || done[0].Counts["writes"] != 0 {
			t.Errorf("apply:%s; want 0 writes", dump(done))
		}
	})

	step("auto: the advertised local registry is chosen, the images are pushed and deployed by digest", func(t *testing.T) {
		before := k.registryBytes()
		evs := k.run()
		det := filter(evs, "detect", "done")
		if len(det) != 1 || !strings.Contains(det[0].Message, env.KindRegistry) || !strings.Contains(det[0].Message, "only missing layers") {
			t.Fatalf("detect:%s; want the advertised registry %s and why", dump(det), env.KindRegistry)
		}
		img := k.kubectl("get", "deployment", "notes-web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
		if !strings.HasPrefix(img, env.KindRegistry+"/notes-web@sha256:") {
			t.Fatalf("Deployment notes-web image %q; want %s/notes-web@sha256:…", img, env.KindRegistry)
		}
		k.assertRunning("app.kubernetes.io/name=notes-web", digestOf(img))
		t.Logf("first push of the three images: the registry grew by %d bytes", k.registryBytes()-before)
	})

	step("a one-line change moves only the changed layer and is served", func(t *testing.T) {
		version := "v-" + name
		edit(t, filepath.Join(dir, "web", "version.go"), `"v1"`, `"`+version+`"`)
		before := k.registryBytes()
		evs := k.run()
		moved := k.registryBytes() - before
		b := byArtifact(evs, "build")
		if b["notes-web"].Status != "done" || b["notes-store"].Status != "skipped" || b["notes-seed"].Status != "skipped" {
			t.Fatalf("builds:%s; want notes-web only", dump(evs))
		}
		// The changed layer is the web binary: the image (as imported in the
		// first step) minus its Debian base.
		layer := imageSize(t, env, refs["notes-web"]) - imageSize(t, env, "debian:bookworm-slim")
		t.Logf("one-line change: the registry grew by %d bytes (the changed layer is about %d bytes uncompressed)", moved, layer)
		if moved <= 0 || moved > layer+64<<10 {
			t.Errorf("a one-line change made %d bytes travel; want at most the changed layer (%d bytes) plus manifests", moved, layer)
		}
		img := k.kubectl("get", "deployment", "notes-web", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
		if !strings.HasPrefix(img, env.KindRegistry+"/notes-web@sha256:") {
			t.Fatalf("Deployment notes-web image %q; want a digest reference", img)
		}
		k.assertRunning("app.kubernetes.io/name=notes-web", digestOf(img))
		if got := k.forwardAndGet("/version"); !strings.Contains(got, version) {
			t.Errorf("GET /version = %q, want %s", got, version)
		}
	})

	step("dev: an edit is served, the data survives a store pod deletion, Ctrl-C keeps the claim", func(t *testing.T) {
		p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(t), Dir: dir,
			Args: []string{"--kube-context", env.KindContext, "dev", "-o", "json"}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop(time.Minute)
		pf, _, err := p.WaitFor(context.Background(), 0, 5*time.Minute, func(e event) bool { return e.Phase == "portforward" && e.URL != "" })
		if err != nil {
			t.Fatalf("devloop dev: no port-forward (%v)\n%s", err, p.Tail(40))
		}
		url := strings.TrimRight(pf.URL, "/")
		client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

		version := "v-dev-" + name
		edit(t, filepath.Join(dir, "web", "version.go"), `"v-`+name+`"`, `"`+version+`"`)
		if _, _, err := devproc.PollBody(client, url+"/version", 200*time.Millisecond, 3*time.Minute,
			func(b string) bool { return strings.Contains(b, version) }); err != nil {
			t.Fatalf("the edit was not served: %v\n%s", err, p.Tail(40))
		}

		note := "kept-" + name
		resp, err := client.Post(url+"/api/notes", "application/json", strings.NewReader(`{"text":"`+note+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("POST /api/notes: %s", resp.Status)
		}
		uid := k.kubectl("get", "pod", "notes-store-0", "-o", "jsonpath={.metadata.uid}")
		k.kubectl("delete", "pod", "notes-store-0", "--wait=true")
		deadline := time.Now().Add(3 * time.Minute)
		for {
			newUID, _ := kubectlOut(env, "--context", env.KindContext, "-n", name, "get", "pod", "notes-store-0", "-o", "jsonpath={.metadata.uid}")
			ready, _ := kubectlOut(env, "--context", env.KindContext, "-n", name, "get", "pod", "notes-store-0", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
			if newUID != "" && newUID != uid && ready == "True" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("notes-store-0 not back and Ready within 3m")
			}
			time.Sleep(500 * time.Millisecond)
		}
		body, _, err := devproc.PollBody(client, url+"/api/notes", 300*time.Millisecond, time.Minute,
			func(b string) bool { return strings.Contains(b, note) })
		if err != nil {
			t.Fatalf("the note did not survive the store pod's deletion: %v (last body %q)", err, body)
		}

		if p.Stop(2 * time.Minute) {
			t.Fatalf("devloop dev did not exit within 2m of SIGINT\n%s", p.Tail(40))
		}
		if got := k.kubectl("get", "pvc", "data-notes-store-0", "-o", "jsonpath={.status.phase}"); got != "Bound" {
			t.Errorf("after cleanup the claim is %q, want Bound (kept)", got)
		}
		if out, _ := kubectlOut(env, "--context", env.KindContext, "-n", name, "get", "deployment", "notes-web", "-o", "name", "--ignore-not-found"); out != "" {
			t.Errorf("after cleanup %s is still there", out)
		}
	})
}

// imageSize is the engine's size of an image, in bytes.
func imageSize(t *testing.T, env *testenv.Env, ref string) int64 {
	t.Helper()
	out, err := env.Command(context.Background(), "docker", "image", "inspect", "-f", "{{.Size}}", ref).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", ref, err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// kubectlOut runs kubectl and returns its trimmed output (no test failure).
func kubectlOut(env *testenv.Env, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := env.Command(ctx, "kubectl", args...).Output()
	return strings.TrimSpace(string(out)), err
}
