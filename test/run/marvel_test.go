package runtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"github.com/devloop-dev/devloop/internal/testenv/devproc"
)

// ferretdbImage returns the image of the FerretDB StatefulSet of
// examples/marvel's local-db overlay in dir (ferretdb:<version>).
func ferretdbImage(t *testing.T, dir string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+image:\s*(ferretdb:\S+)`).FindStringSubmatch(readFile(t, dir, "k8s/overlays/local-db/ferretdb.yaml"))
	if m == nil {
		t.Fatal("k8s/overlays/local-db/ferretdb.yaml names no ferretdb:<version> image")
	}
	return m[1]
}

// requireRegistryImage fails the test unless the environment's registry,
// the cluster's docker.io mirror, holds ref (name:tag, a library image).
func requireRegistryImage(t *testing.T, env *testenv.Env, ref string) {
	t.Helper()
	name, tag, _ := strings.Cut(ref, ":")
	url := fmt.Sprintf("http://%s/v2/library/%s/manifests/%s", env.Registry, name, tag)
	req, err := http.NewRequest(http.MethodHead, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("Accept", "application/vnd.oci.image.index.v1+json")
	req.Header.Add("Accept", "application/vnd.oci.image.manifest.v1+json")
	req.Header.Add("Accept", "application/vnd.docker.distribution.manifest.list.v2+json")
	req.Header.Add("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("asking the registry %s for %s: %v", env.Registry, ref, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s is not in the registry %s (HEAD %s: %s): it is built by make env-up (hack/env/images.sh); run make env-up",
			ref, env.Registry, url, resp.Status)
	}
}

// characterNames returns the names of the characters init-db loads.
func characterNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	var data struct {
		Characters []struct {
			Name string `json:"name"`
		} `json:"characters"`
	}
	if err := json.Unmarshal([]byte(readFile(t, dir, "init-db/characters.json")), &data); err != nil {
		t.Fatalf("init-db/characters.json: %v", err)
	}
	names := map[string]bool{}
	for _, c := range data.Characters {
		names[c.Name] = true
	}
	if len(names) == 0 {
		t.Fatal("init-db/characters.json holds no characters")
	}
	return names
}

// TestMarvelLocalDB: examples/marvel under its local-db profile on the real
// cluster, in a namespace of its own. `devloop run -p local-db
// --port-forward` builds the frontend and init-db, deploys FerretDB (the
// environment's ferretdb image) in place of MongoDB, init-db loads the
// characters without a replica set, and through devloop's port-forward `/`
// answers 200 with cards and /api/characters/random a character of the data
// set, by name. delete --data removes the objects and FerretDB's volume.
func TestMarvelLocalDB(t *testing.T) {
	env := testenv.Require(t)
	testenv.Binary(t) // built before the first bounded run
	dir, ns := testenv.CopyExample(t, "marvel")
	requireRegistryImage(t, env, ferretdbImage(t, dir))
	// The overlay repeats the dev overlay's namespace, which CopyExample renamed.
	edit(t, dir, "k8s/overlays/local-db/kustomization.yaml", "\nnamespace: marvel\n", "\nnamespace: "+ns+"\n")
	devproc.SetLocalPort(t, dir, freePort(t))
	t.Cleanup(func() {
		if r := devloop(t, dir, nil, 3*time.Minute, "delete", "-p", "local-db", "--data"); r.Code != 0 {
			t.Errorf("devloop delete -p local-db --data exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", ns, "--wait=false", "--ignore-not-found").Run()
	})

	start := time.Now()
	p, err := devproc.Launch(devproc.Command{Binary: testenv.Binary(t), Dir: dir,
		Args: []string{"run", "-p", "local-db", "--port-forward", "-o", "json"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(15 * time.Second)
	pf, _, err := p.WaitFor(context.Background(), 0, 10*time.Minute, func(e event) bool {
		return e.Phase == "portforward" && e.URL != ""
	})
	if err != nil {
		if p.Exited() {
			t.Fatalf("devloop run -p local-db ended (%v) before forwarding:%s\nstderr:\n%s", p.Err(), dump(p.Events()), tail(p.Stderr(), 40))
		}
		t.Fatalf("no portforward event with a url within 10m:%s\nstderr:\n%s", dump(p.Events()), tail(p.Stderr(), 40))
	}
	t.Logf("deployed and forwarded in %s", time.Since(start).Round(time.Second))
	base := strings.TrimRight(pf.URL, "/")
	client := &http.Client{Timeout: 10 * time.Second}

	// MongoDB is not deployed; FerretDB is.
	if sts := kubectl(t, env, "-n", ns, "get", "statefulsets", "-o", "jsonpath={.items[*].metadata.name}"); sts != "ferretdb" {
		t.Errorf("StatefulSets in %s: %q, want ferretdb alone", ns, sts)
	}

	// init-db finished before the deploy was reported ready; the page shows cards.
	if _, _, err := devproc.PollBody(client, base+"/", time.Second, time.Minute, func(body string) bool {
		return strings.Contains(body, `<article class="card"`)
	}); err != nil {
		t.Errorf("GET / through devloop's port-forward: %v\nstderr:\n%s", err, tail(p.Stderr(), 30))
	}

	// init-db ran against a standalone server and loaded the data set.
	if logs := kubectl(t, env, "-n", ns, "logs", "job/marvel-init-db"); !strings.Contains(logs, "no replica set to initiate") ||
		!strings.Contains(logs, "characters loaded") {
		t.Errorf("init-db's log does not show a standalone load:\n%s", tail(logs, 15))
	}

	names := characterNames(t, dir)
	body, _, err := devproc.PollBody(client, base+"/api/characters/random", time.Second, time.Minute, func(string) bool { return true })
	if err != nil {
		t.Fatalf("GET /api/characters/random: %v", err)
	}
	var card struct {
		Name   string   `json:"name"`
		Comics []string `json:"comics"`
	}
	if err := json.Unmarshal([]byte(body), &card); err != nil {
		t.Fatalf("/api/characters/random answered no JSON card (%v): %s", err, body)
	}
	if card.Name == "" || !names[card.Name] {
		t.Errorf("/api/characters/random: name %q, want one of init-db/characters.json's:\n%s", card.Name, body)
	}
	t.Logf("random character: %s", card.Name)

	if p.Stop(15 * time.Second) {
		t.Errorf("devloop run -p local-db --port-forward did not exit within 15s of SIGINT")
	} else if ee := (*exec.ExitError)(nil); errors.As(p.Err(), &ee) && ee.ExitCode() != 0 && ee.ExitCode() != 130 {
		t.Errorf("devloop run -p local-db --port-forward exited %d after SIGINT\n%s", ee.ExitCode(), tail(p.Stderr(), 20))
	}
}
