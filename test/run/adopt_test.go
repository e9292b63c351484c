package runtest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// adoptApp writes a devloop.yaml building artifact api (a Debian image that
// sleeps) and an overlay in ns with a Deployment api (one container, api),
// a Service api (one port, http) and a ConfigMap api-settings (one key,
// MODE), and returns its directory.
func adoptApp(t *testing.T, name, ns string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "devloop.yaml", "apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: "+name+
		"\nbuild:\n  artifacts:\n    - image: api\n      context: api\ndeploy:\n  kustomize:\n    path: k8s\n  statusTimeout: 2m\n")
	writeFile(t, dir, "api/Dockerfile", "FROM debian:bookworm-slim\nCOPY marker /marker\nCMD [\"sleep\", \"infinity\"]\n")
	writeFile(t, dir, "api/marker", ns+"\n")
	writeFile(t, dir, "k8s/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: "+ns+
		"\nresources:\n  - deployment.yaml\n  - service.yaml\n  - configmap.yaml\n")
	writeFile(t, dir, "k8s/deployment.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: api
          image: api
`)
	writeFile(t, dir, "k8s/service.yaml", `apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  selector: {app: api}
  ports:
    - {name: http, port: 80, targetPort: 8080}
`)
	writeFile(t, dir, "k8s/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: api-settings\ndata:\n  MODE: dev\n")
	return dir
}

// TestAdoptReplacesHandMadeObjects: objects made by hand with kubectl (a
// Deployment with another container and image, a Service with another and
// an extra port, a ConfigMap with an extra key) are, after `run --adopt`,
// exactly what the manifests say, owned by devloop alone; the rollout is
// ready; `run --adopt --dry-run` showed the changes beforehand without
// writing; the run's events record the objects replaced; `devloop delete`
// leaves the adopted objects in place.
func TestAdoptReplacesHandMadeObjects(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "adoptrep")
	name := "ar-" + ns[len(ns)-5:]
	dir := adoptApp(t, name, ns)
	t.Cleanup(func() { _ = devloop(t, dir, nil, 2*time.Minute, "delete") })

	env.Kubectl(t, "-n", ns, "create", "deployment", "api", "--image=someone/else:1")
	env.Kubectl(t, "-n", ns, "create", "service", "clusterip", "api", "--tcp=80:8080", "--tcp=9090:9090")
	env.Kubectl(t, "-n", ns, "create", "configmap", "api-settings", "--from-literal=MODE=prod", "--from-literal=extra=1")
	get := func(t *testing.T, kind, n, path string) string {
		t.Helper()
		return strings.TrimSpace(env.Kubectl(t, "-n", ns, "get", kind, n, "-o", "jsonpath="+path))
	}
	objects := []struct{ kind, name, ref string }{
		{"deployment", "api", "Deployment/" + ns + "/api"},
		{"service", "api", "Service/" + ns + "/api"},
		{"configmap", "api-settings", "ConfigMap/" + ns + "/api-settings"},
	}
	versions := func(t *testing.T) string {
		t.Helper()
		var v []string
		for _, o := range objects {
			v = append(v, get(t, o.kind, o.name, "{.metadata.resourceVersion}"))
		}
		return strings.Join(v, ",")
	}
	clusterIP := get(t, "service", "api", "{.spec.clusterIP}")

	t.Run("run without --adopt refuses, naming the objects", func(t *testing.T) {
		r := devloop(t, dir, nil, 5*time.Minute, "run", "-o", "json")
		if r.Code != 1 {
			t.Fatalf("devloop run over hand-made objects exited %d, want 1:\n%s", r.Code, tail(r.Output(), 15))
		}
		for _, o := range objects {
			if !strings.Contains(r.Output(), o.ref) {
				t.Errorf("the refusal does not name %s:\n%s", o.ref, tail(r.Output(), 15))
			}
		}
	})

	t.Run("--adopt --dry-run shows what would change and writes nothing", func(t *testing.T) {
		before := versions(t)
		r := devloop(t, dir, nil, 2*time.Minute, "run", "--adopt", "--dry-run", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop run --adopt --dry-run exited %d, want 0:\n%s", r.Code, tail(r.Output(), 15))
		}
		changes := map[string]string{}
		for _, e := range filter(parseEvents(t, r.Stdout), "apply", "info") {
			changes[e.Object] = e.Message + "\n" + strings.Join(e.Changes, "\n")
		}
		want := map[string][]string{
			objects[0].ref: {"would adopt", "- spec.template.spec.containers[name=else]", "+ spec.template.spec.containers[name=api]"},
			objects[1].ref: {"would adopt", "- spec.ports[name=9090-9090]", "- spec.ports[name=80-8080]", "+ spec.ports[name=http]"},
			objects[2].ref: {"would adopt", `- data.extra: "1"`, `~ data.MODE: "prod" → "dev"`},
		}
		for ref, lines := range want {
			for _, l := range lines {
				if !strings.Contains(changes[ref], l) {
					t.Errorf("the preview of %s lacks %q:\n%s", ref, l, changes[ref])
				}
			}
		}
		if strings.Contains(changes[objects[1].ref], "clusterIP") {
			t.Errorf("the preview says the Service's cluster IP changes (the server keeps it):\n%s", changes[objects[1].ref])
		}
		if after := versions(t); after != before {
			t.Errorf("the dry run wrote objects: resourceVersions %s → %s", before, after)
		}
		if got := get(t, "deployment", "api", "{.spec.template.spec.containers[*].name}"); got != "else" {
			t.Errorf("the dry run changed the Deployment's containers: %q", got)
		}
		// The text form prints the same changes, one line each.
		r = devloop(t, dir, nil, 2*time.Minute, "run", "--adopt", "--dry-run")
		if r.Code != 0 || !strings.Contains(r.Stdout, `- data.extra: "1"`) || !strings.Contains(r.Stdout, "nothing written") {
			t.Errorf("devloop run --adopt --dry-run (text) exited %d:\n%s", r.Code, tail(r.Output(), 30))
		}
	})

	t.Run("run --adopt makes them exactly the manifests' and ready", func(t *testing.T) {
		start := time.Now()
		r := devloop(t, dir, nil, 5*time.Minute, "run", "--adopt", "-o", "json")
		t.Logf("devloop run --adopt took %s", time.Since(start).Round(time.Millisecond))
		if r.Code != 0 {
			t.Fatalf("devloop run --adopt exited %d, want 0:\n%s", r.Code, tail(r.Output(), 30))
		}
		evs := parseEvents(t, r.Stdout)
		for _, o := range objects {
			var ev *event
			for i, e := range filter(evs, "apply", "info") {
				if e.Object == o.ref {
					ev = &filter(evs, "apply", "info")[i]
				}
			}
			if ev == nil || ev.Message != "adopted" || len(ev.Changes) == 0 || len(ev.Previous) == 0 {
				t.Errorf("apply event of %s: %+v, want adopted with the changes and the previous object", o.ref, ev)
			}
			if o.kind == "deployment" && ev != nil {
				prev, _ := json.Marshal(ev.Previous)
				if !strings.Contains(string(prev), "someone/else:1") {
					t.Errorf("the previous Deployment recorded lacks the hand-made image: %s", prev)
				}
			}
		}
		if got := get(t, "deployment", "api", "{.spec.template.spec.containers[*].name}"); got != "api" {
			t.Errorf("Deployment containers %q, want only devloop's api", got)
		}
		if got := get(t, "deployment", "api", "{.spec.template.spec.containers[*].image}"); strings.Contains(got, "someone/else") {
			t.Errorf("Deployment images %q, want devloop's only", got)
		}
		if got := get(t, "deployment", "api", "{.status.readyReplicas}/{.status.replicas}/{.status.updatedReplicas}"); got != "1/1/1" {
			t.Errorf("Deployment ready/replicas/updated = %q, want 1/1/1", got)
		}
		if got := get(t, "service", "api", "{range .spec.ports[*]}{.name}:{.port}:{.targetPort} {end}"); got != "http:80:8080" {
			t.Errorf("Service ports %q, want only the manifest's http:80:8080", got)
		}
		if got := get(t, "service", "api", "{.spec.clusterIP}"); got != clusterIP {
			t.Errorf("Service clusterIP %q, want the one it had (%s)", got, clusterIP)
		}
		if got := get(t, "configmap", "api-settings", "{.data}"); got != `{"MODE":"dev"}` {
			t.Errorf("ConfigMap data %s, want only the manifest's {\"MODE\":\"dev\"}", got)
		}
		for _, o := range objects {
			out := env.Kubectl(t, "-n", ns, "get", o.kind, o.name, "-o", "jsonpath={range .metadata.managedFields[*]}{.manager}/{.operation}/{.subresource} {end}", "--show-managed-fields")
			for _, entry := range strings.Fields(out) {
				if entry != "devloop/Apply/" && !strings.HasSuffix(entry, "/status") {
					t.Errorf("%s has managedFields entry %s: devloop's apply must own its fields alone", o.ref, entry)
				}
			}
		}
		if got := get(t, "configmap", "api-settings", "{.metadata.annotations.devloop\\.dev/adopted}"); got != "true" {
			t.Errorf("the ConfigMap is not marked adopted: %q", got)
		}
	})

	t.Run("a later run writes nothing", func(t *testing.T) {
		r := devloop(t, dir, nil, 5*time.Minute, "run", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop run after adoption exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		if c := applyCounts(t, parseEvents(t, r.Stdout)); c["writes"] != 0 {
			t.Errorf("apply counts %v, want writes=0", c)
		}
	})

	t.Run("delete leaves the adopted objects in place", func(t *testing.T) {
		r := devloop(t, dir, nil, 2*time.Minute, "delete", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop delete exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		for _, o := range objects {
			if got := get(t, o.kind, o.name, "{.metadata.name}"); got != o.name {
				t.Errorf("adopted %s was deleted", o.ref)
			}
		}
	})
}
