package runtest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// TestRun drives one copy of examples/notes through the promises of
// `devloop run`, step by step, on the real cluster.
func TestRun(t *testing.T) {
	env := testenv.Require(t)
	dir, name := testenv.CopyExample(t, "notes")
	setLocalPort(t, dir, freePort(t))
	t.Cleanup(func() {
		r := devloop(t, dir, nil, 3*time.Minute, "delete", "--data")
		if r.Code != 0 {
			t.Logf("cleanup: devloop delete --data exited %d: %s", r.Code, tail(r.Output(), 10))
		}
		_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
	})
	version := "v-" + name // unique content for the rebuilt artifacts
	obj := func(kind, n string) string { return kind + "/" + name + "/" + n }
	run := func(t *testing.T, wantCode int) (result, []event) {
		t.Helper()
		r := devloop(t, dir, nil, 10*time.Minute, "run", "-o", "json")
		evs := parseEvents(t, r.Stdout)
		if r.Code != wantCode {
			t.Fatalf("devloop run exited %d, want %d; events:%s\nstderr:\n%s", r.Code, wantCode, dump(evs), tail(r.Stderr, 40))
		}
		return r, evs
	}
	jsonpath := func(t *testing.T, kind, n, path string) string {
		t.Helper()
		return strings.TrimSpace(env.Kubectl(t, "-n", name, "get", kind, n, "-o", "jsonpath="+path))
	}
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"first run deploys everything ready", func(t *testing.T) {
			since := time.Now()
			_, evs := run(t, 0)
			// The audit log counts devloop's writes: here, the objects it created.
			if w := env.APIWrites(t, since, time.Now(), "devloop/", name); len(w) < 7 {
				t.Errorf("the API server's audit log shows %d writes by devloop on the first run, want the 7 objects at least", len(w))
			}
			if len(filter(evs, "status", "done")) != 1 || len(filter(evs, "run", "done")) != 1 {
				t.Fatalf("want status done and run done events:%s", dump(evs))
			}
			if got := jsonpath(t, "deployment", "notes-web", "{.status.readyReplicas}"); got != "1" {
				t.Errorf("Deployment notes-web readyReplicas = %q, want 1", got)
			}
			if got := jsonpath(t, "statefulset", "notes-store", "{.status.readyReplicas}/{.status.updatedReplicas}"); got != "1/1" {
				t.Errorf("StatefulSet notes-store ready/updated = %q, want 1/1", got)
			}
			if got := jsonpath(t, "job", "notes-seed", "{.status.succeeded}"); got != "1" {
				t.Errorf("Job notes-seed succeeded = %q, want 1", got)
			}
			if got := jsonpath(t, "pvc", "data-notes-store-0", "{.status.phase}"); got != "Bound" {
				t.Errorf("PVC data-notes-store-0 phase = %q, want Bound", got)
			}
		}},
		{"nothing changed: no build, no deliver, no write", func(t *testing.T) {
			since := time.Now()
			r, evs := run(t, 0)
			// Counted by the API server, not by devloop.
			if w := env.APIWrites(t, since, time.Now(), "devloop/", name); len(w) != 0 {
				t.Errorf("the API server's audit log shows %d writes by devloop on an unchanged run, want 0: first %s %s", len(w), w[0].Verb, w[0].URI)
			}
			for a, s := range buildStatus(evs) {
				if s != "skipped" {
					t.Errorf("build of %s: %s, want skipped", a, s)
				}
			}
			if n := len(buildStatus(evs)); n != 3 {
				t.Errorf("want a build event for each of 3 artifacts, got %d:%s", n, dump(evs))
			}
			if d := filter(evs, "deliver", "done"); len(d) != 0 {
				t.Errorf("want no deliver done, got %d:%s", len(d), dump(evs))
			}
			if c := applyCounts(t, evs); c["writes"] != 0 {
				t.Errorf("apply counts %v, want writes=0", c)
			}
			if ch := applyChanges(evs); len(ch) != 0 {
				t.Errorf("objects changed by a no-op run: %v", ch)
			}
			t.Logf("no-op devloop run: %s wall time (run phase %dms)", r.Elapsed.Round(time.Millisecond), filter(evs, "run", "done")[0].DurationMs)
		}},
		{"the page answers through run --port-forward", func(t *testing.T) {
			if got := forwardAndGet(t, dir, "/version"); !strings.Contains(got, `"v1"`) && strings.TrimSpace(got) != "v1" {
				t.Errorf("GET /version = %q, want the example's v1", got)
			}
			if got := forwardAndGet(t, dir, "/api/notes"); !strings.Contains(got, "[") {
				t.Errorf("GET /api/notes = %q, want a JSON list", got)
			}
		}},
		{"a change in web/ rebuilds notes-web only", func(t *testing.T) {
			// A version no earlier run built: images are tagged by content, so a
			// version seen before would already be in the cluster.
			edit(t, dir, "web/version.go", `"v1"`, `"`+version+`"`)
			_, evs := run(t, 0)
			want := map[string]string{"notes-web": "done", "notes-store": "skipped", "notes-seed": "skipped"}
			if got := buildStatus(evs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("build statuses %v, want %v", got, want)
			}
			if got := applyChanges(evs); got[obj("Deployment", "notes-web")] != "configured" || len(got) != 1 {
				t.Errorf("apply changes %v, want only Deployment notes-web configured", got)
			}
			if got := forwardAndGet(t, dir, "/version"); !strings.Contains(got, version) {
				t.Errorf("GET /version = %q after the change, want %s", got, version)
			}
		}},
		{"a change excluded by .dockerignore builds nothing", func(t *testing.T) {
			writeFile(t, dir, "web/NOTES.md", "# notes for humans, not for the image\n")
			_, evs := run(t, 0)
			for a, s := range buildStatus(evs) {
				if s != "skipped" {
					t.Errorf("build of %s: %s, want skipped (web/NOTES.md is in .dockerignore)", a, s)
				}
			}
			if c := applyCounts(t, evs); c["writes"] != 0 {
				t.Errorf("apply counts %v, want writes=0", c)
			}
		}},
		{"a change of the Job's image recreates the Job", func(t *testing.T) {
			edit(t, dir, "seed/main.go", "package main", "package main\n\n// Changed by TestRun "+name+".")
			_, evs := run(t, 0)
			want := map[string]string{"notes-web": "skipped", "notes-store": "skipped", "notes-seed": "done"}
			if got := buildStatus(evs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("build statuses %v, want %v", got, want)
			}
			if got := applyChanges(evs); got[obj("Job", "notes-seed")] != "recreated" || len(got) != 1 {
				t.Errorf("apply changes %v, want only Job notes-seed recreated", got)
			}
			if got := jsonpath(t, "job", "notes-seed", "{.status.succeeded}"); got != "1" {
				t.Errorf("recreated Job succeeded = %q, want 1", got)
			}
		}},
		{"a ConfigMap change with a hashed name", func(t *testing.T) {
			// The example's ConfigMap comes from a configMapGenerator, whose name
			// carries a hash of its content: changing a literal renames it. So the
			// Deployment (envFrom) and the Job (configMapKeyRef) now reference
			// another name: the Deployment is configured, the Job's immutable pod
			// template changed so it is recreated, the new ConfigMap is created
			// and the old one pruned. Nothing is built.
			old := jsonpath(t, "deployment", "notes-web", "{.spec.template.spec.containers[0].envFrom[0].configMapRef.name}")
			edit(t, dir, "k8s/base/kustomization.yaml", "PAGE_TITLE=Notes", "PAGE_TITLE=Notes by TestRun")
			_, evs := run(t, 0)
			for a, s := range buildStatus(evs) {
				if s != "skipped" {
					t.Errorf("build of %s: %s, want skipped", a, s)
				}
			}
			cur := jsonpath(t, "deployment", "notes-web", "{.spec.template.spec.containers[0].envFrom[0].configMapRef.name}")
			if cur == old || !strings.HasPrefix(cur, "notes-config-") {
				t.Fatalf("ConfigMap name %q → %q: want a new hashed name", old, cur)
			}
			want := map[string]string{
				obj("ConfigMap", cur):          "created",
				obj("Deployment", "notes-web"): "configured",
				obj("Job", "notes-seed"):       "recreated",
			}
			if got := applyChanges(evs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("apply changes %v, want %v", got, want)
			}
			if p := filter(evs, "prune", "done"); len(p) != 1 || !strings.Contains(p[0].Message, "ConfigMap/"+name+"/"+old) {
				t.Errorf("want the old ConfigMap %s pruned:%s", old, dump(evs))
			}
		}},
		{"a ConfigMap change with a stable name writes only the ConfigMap", func(t *testing.T) {
			// With disableNameSuffixHash the name stays notes-config, so after the
			// rename settles (first run) a literal change writes that one object.
			writeFile(t, dir, "k8s/base/kustomization.yaml", readFile(t, dir, "k8s/base/kustomization.yaml")+
				"generatorOptions:\n  disableNameSuffixHash: true\n")
			run(t, 0)
			edit(t, dir, "k8s/base/kustomization.yaml", "PAGE_TITLE=Notes by TestRun", "PAGE_TITLE=Notes again")
			_, evs := run(t, 0)
			for a, s := range buildStatus(evs) {
				if s != "skipped" {
					t.Errorf("build of %s: %s, want skipped", a, s)
				}
			}
			want := map[string]string{obj("ConfigMap", "notes-config"): "configured"}
			if got := applyChanges(evs); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("apply changes %v, want %v", got, want)
			}
			if c := applyCounts(t, evs); c["writes"] != 1 {
				t.Errorf("apply counts %v, want writes=1", c)
			}
		}},
		{"a crash-looping container fails the run with its reason and logs", func(t *testing.T) {
			mainGo := readFile(t, dir, "web/main.go")
			edit(t, dir, "web/main.go", "func main() {\n", "func main() {\n\tlog.Fatal(\"boom: crash injected by TestRun\")\n")
			r, evs := run(t, 1)
			st := filter(evs, "status", "start")
			if len(st) != 1 {
				t.Fatalf("want one status start:%s", dump(evs))
			}
			last := evs[len(evs)-1]
			wait := last.Time.Sub(st[0].Time)
			t.Logf("crash reported %s after the wait began", wait.Round(time.Millisecond))
			if wait > 90*time.Second {
				t.Errorf("the run took %s from the start of the wait to its failure, want < 90s", wait)
			}
			out := r.Output()
			if !regexp.MustCompile(`CrashLoopBackOff|exited with|Error`).MatchString(out) {
				t.Errorf("output does not name the crash:\n%s", tail(out, 40))
			}
			if !strings.Contains(out, "boom") {
				t.Errorf("output does not carry the container's last log lines (boom):\n%s", tail(out, 40))
			}
			if len(filter(evs, "status", "failed")) == 0 {
				t.Errorf("want a status failed event:%s", dump(evs))
			}
			writeFile(t, dir, "web/main.go", mainGo)
			run(t, 0) // the previous image is still in the cluster: no build
			if got := jsonpath(t, "deployment", "notes-web", "{.status.readyReplicas}"); got != "1" {
				t.Errorf("after the fix, readyReplicas = %q, want 1", got)
			}
		}},
		{"delete keeps the PVC, delete --data removes it", func(t *testing.T) {
			r := devloop(t, dir, nil, 3*time.Minute, "delete", "-o", "json")
			if r.Code != 0 {
				t.Fatalf("devloop delete exited %d:\n%s", r.Code, tail(r.Output(), 20))
			}
			sel := "devloop.dev/config=" + name
			waitFor(t, 90*time.Second, "the applied objects are gone", func() (bool, string) {
				out := env.Kubectl(t, "-n", name, "get", "deployment,statefulset,job,service,configmap", "-l", sel, "-o", "name")
				return !strings.Contains(out, "/"), out
			})
			if got := jsonpath(t, "pvc", "data-notes-store-0", "{.metadata.name}"); got != "data-notes-store-0" {
				t.Fatalf("PVC data-notes-store-0 should stay after delete, got %q", got)
			}
			r = devloop(t, dir, nil, 3*time.Minute, "delete", "--data", "-o", "json")
			if r.Code != 0 {
				t.Fatalf("devloop delete --data exited %d:\n%s", r.Code, tail(r.Output(), 20))
			}
			waitFor(t, 90*time.Second, "the PVC is gone", func() (bool, string) {
				out := env.Kubectl(t, "-n", name, "get", "pvc", "-o", "name")
				return !strings.Contains(out, "/"), out
			})
		}},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("step %q failed; the later steps depend on it", s.name)
		}
	}
}

// waitFor polls cond every second until it holds or within passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last state:\n%s", what, within, state)
		}
		time.Sleep(time.Second)
	}
}
