package runtest

import (
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// foreignApp writes a devloop.yaml (no artifacts) whose overlay puts the
// ConfigMaps named in cms into namespace ns, and returns its directory.
func foreignApp(t *testing.T, name, ns string, cms ...string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "devloop.yaml", "apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: "+name+
		"\ndeploy:\n  kustomize:\n    path: k8s\n  statusTimeout: 1m\n")
	var res strings.Builder
	for _, cm := range cms {
		res.WriteString("  - " + cm + ".yaml\n")
		writeFile(t, dir, "k8s/"+cm+".yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+cm+"\ndata:\n  owner: devloop\n")
	}
	writeFile(t, dir, "k8s/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: "+ns+"\nresources:\n"+res.String())
	return dir
}

// TestForeignObjects: an object devloop did not create (made by hand, or by
// another devloop config) is never taken over nor deleted unless adopted,
// and adopted objects survive cleanup.
func TestForeignObjects(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "foreign")
	name := "fo-" + ns[len(ns)-5:]
	dir := foreignApp(t, name, ns, "handmade", "other-config", "app-settings")
	t.Cleanup(func() { _ = devloop(t, dir, nil, 2*time.Minute, "delete") })

	env.Kubectl(t, "-n", ns, "create", "configmap", "handmade", "--from-literal=owner=human")
	env.Kubectl(t, "-n", ns, "create", "configmap", "other-config", "--from-literal=owner=other")
	env.Kubectl(t, "-n", ns, "label", "configmap", "other-config", "app.kubernetes.io/managed-by=devloop", "devloop.dev/config=someone-else")
	get := func(t *testing.T, cm, path string) string {
		t.Helper()
		out, err := env.Command(t.Context(), "kubectl", "-n", ns, "get", "configmap", cm, "-o", "jsonpath="+path).CombinedOutput()
		if err != nil {
			return "ERROR: " + strings.TrimSpace(string(out))
		}
		return strings.TrimSpace(string(out))
	}
	ownerIs := func(t *testing.T, cm, want string) {
		t.Helper()
		if got := get(t, cm, "{.data.owner}"); got != want {
			t.Errorf("ConfigMap %s: data.owner = %q, want %q (the object must be left as it was)", cm, got, want)
		}
	}

	t.Run("hand-made objects survive run and delete", func(t *testing.T) {
		r := devloop(t, dir, nil, 2*time.Minute, "run", "-o", "json")
		out := r.Output()
		if r.Code != 1 {
			t.Errorf("devloop run over foreign objects exited %d, want 1:\n%s", r.Code, tail(out, 15))
		}
		for _, want := range []string{"ConfigMap/" + ns + "/handmade", "ConfigMap/" + ns + "/other-config", "someone-else", "--adopt", "deploy.adopt"} {
			if !strings.Contains(out, want) {
				t.Errorf("the refusal must name %q:\n%s", want, tail(out, 15))
			}
		}
		if got := get(t, "app-settings", "{.metadata.name}"); !strings.HasPrefix(got, "ERROR") {
			t.Errorf("app-settings was applied in a pass that refused foreign objects")
		}
		r = devloop(t, dir, nil, 2*time.Minute, "delete")
		if r.Code != 0 {
			t.Errorf("devloop delete exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		ownerIs(t, "handmade", "human")
		ownerIs(t, "other-config", "other")
		if got := get(t, "handmade", "{.metadata.labels}"); strings.Contains(got, "devloop") {
			t.Errorf("the hand-made ConfigMap was labelled by devloop: %s", got)
		}
	})

	t.Run("--adopt takes them over and records them", func(t *testing.T) {
		r := devloop(t, dir, nil, 2*time.Minute, "run", "--adopt", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop run --adopt exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		ch := applyChanges(parseEvents(t, r.Stdout))
		for _, cm := range []string{"handmade", "other-config"} {
			if got := ch["ConfigMap/"+ns+"/"+cm]; got != "adopted" {
				t.Errorf("apply of %s: %q, want adopted (changes %v)", cm, got, ch)
			}
			ownerIs(t, cm, "devloop")
			if got := get(t, cm, "{.metadata.labels.devloop\\.dev/config}"); got != name {
				t.Errorf("adopted %s carries devloop.dev/config=%q, want %q", cm, got, name)
			}
		}
		if got := ch["ConfigMap/"+ns+"/app-settings"]; got != "created" {
			t.Errorf("apply of app-settings: %q, want created", got)
		}
		inv := get(t, "devloop-inventory-"+name, "{.data.inventory}")
		if !strings.Contains(inv, `"adopted"`) || !strings.Contains(inv, "handmade") {
			t.Errorf("the inventory in %s does not record the adopted objects: %s", ns, inv)
		}
	})

	t.Run("a later run without --adopt keeps them, writing nothing", func(t *testing.T) {
		r := devloop(t, dir, nil, 2*time.Minute, "run", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop run after adoption exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		if c := applyCounts(t, parseEvents(t, r.Stdout)); c["writes"] != 0 {
			t.Errorf("apply counts %v, want writes=0", c)
		}
	})

	t.Run("deploy.adopt in devloop.yaml adopts too", func(t *testing.T) {
		env.Kubectl(t, "-n", ns, "create", "configmap", "later", "--from-literal=owner=human")
		writeFile(t, dir, "k8s/later.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: later\ndata:\n  owner: devloop\n")
		edit(t, dir, "k8s/kustomization.yaml", "resources:\n", "resources:\n  - later.yaml\n")
		r := devloop(t, dir, nil, 2*time.Minute, "run", "-o", "json")
		if r.Code != 1 || !strings.Contains(r.Output(), "ConfigMap/"+ns+"/later") {
			t.Fatalf("devloop run with a new foreign object exited %d, want 1 naming it:\n%s", r.Code, tail(r.Output(), 15))
		}
		edit(t, dir, "devloop.yaml", "  statusTimeout: 1m\n", "  statusTimeout: 1m\n  adopt: true\n")
		r = devloop(t, dir, nil, 2*time.Minute, "run", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop run with deploy.adopt: true exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		if got := applyChanges(parseEvents(t, r.Stdout))["ConfigMap/"+ns+"/later"]; got != "adopted" {
			t.Errorf("apply of later: %q, want adopted", got)
		}
	})

	t.Run("delete leaves adopted objects in place and says so", func(t *testing.T) {
		r := devloop(t, dir, nil, 2*time.Minute, "delete", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop delete exited %d:\n%s", r.Code, tail(r.Output(), 15))
		}
		for _, cm := range []string{"handmade", "other-config", "later"} {
			if got := get(t, cm, "{.metadata.name}"); got != cm {
				t.Errorf("adopted ConfigMap %s was deleted: %s", cm, got)
			}
			if !strings.Contains(r.Stdout, "ConfigMap/"+ns+"/"+cm) {
				t.Errorf("delete does not say it left %s in place:\n%s", cm, tail(r.Stdout, 15))
			}
		}
		if !strings.Contains(r.Stdout, "adopted") {
			t.Errorf("delete does not say the objects were adopted:\n%s", tail(r.Stdout, 15))
		}
		if got := get(t, "app-settings", "{.metadata.name}"); !strings.HasPrefix(got, "ERROR") {
			t.Errorf("app-settings, which devloop created, survived delete")
		}
	})
}
