package deploy

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

const helperDeployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers:
        - {name: migrate, image: "web:abc"}
      containers:
        - {name: web, image: "web:abc", args: [--port, "8080"]}
        - {name: side, image: "other:1"}
`

func TestInjectHelperWrapsTheImageEntrypoint(t *testing.T) {
	u := object(t, helperDeployment)
	n, err := InjectHelper([]*unstructured.Unstructured{u}, HelperInjection{
		Image:   "devloop-helper:h1",
		Targets: map[string]ImageCommand{"web:abc": {Entrypoint: []string{"/web"}, Cmd: []string{"--default"}}},
	})
	if err != nil || n != 1 {
		t.Fatalf("InjectHelper = %d, %v; want 1 container wrapped", n, err)
	}
	spec, _, _ := unstructured.NestedMap(u.Object, "spec", "template", "spec")
	web := spec["containers"].([]any)[0].(map[string]any)
	want := []any{HelperPath, "run", "--", "/web", "--port", "8080"}
	if !reflect.DeepEqual(web["command"], want) {
		t.Errorf("command = %v, want %v", web["command"], want)
	}
	if _, ok := web["args"]; ok {
		t.Error("args kept; they are part of the wrapped command")
	}
	if side := spec["containers"].([]any)[1].(map[string]any); side["command"] != nil || side["volumeMounts"] != nil {
		t.Errorf("the other container was changed: %v", side)
	}
	inits := spec["initContainers"].([]any)
	if len(inits) != 2 || inits[0].(map[string]any)["command"] != nil {
		t.Fatalf("init containers %v: the manifest's own must stay as they are, the helper's appended", inits)
	}
	if h := inits[1].(map[string]any); h["image"] != "devloop-helper:h1" ||
		!reflect.DeepEqual(h["command"], []any{"/devloop-helper", "install", HelperPath}) {
		t.Errorf("helper init container %v", h)
	}
	if vols := spec["volumes"].([]any); len(vols) != 1 || vols[0].(map[string]any)["name"] != HelperVolume {
		t.Errorf("volumes %v", vols)
	}
	if a, _, _ := unstructured.NestedString(u.Object, "spec", "template", "metadata", "annotations", HelperAnnotation); a != "injected" {
		t.Errorf("pod template annotation %q", a)
	}
}

func TestResolveArgvFollowsKubernetesRules(t *testing.T) {
	ic := ImageCommand{Entrypoint: []string{"/ep"}, Cmd: []string{"cmd"}}
	for _, tt := range []struct {
		command, args, want []string
	}{
		{nil, nil, []string{"/ep", "cmd"}},
		{nil, []string{"a"}, []string{"/ep", "a"}},
		{[]string{"/c"}, nil, []string{"/c"}},
		{[]string{"/c"}, []string{"a"}, []string{"/c", "a"}},
	} {
		if got := resolveArgv(tt.command, tt.args, ic); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("command %v args %v: %v, want %v", tt.command, tt.args, got, tt.want)
		}
	}
}

func TestInjectHelperWithoutAnyCommandFails(t *testing.T) {
	u := object(t, helperDeployment)
	_, err := InjectHelper([]*unstructured.Unstructured{u}, HelperInjection{
		Image: "devloop-helper:h1", Targets: map[string]ImageCommand{"other:1": {}},
	})
	if err == nil || !strings.Contains(err.Error(), "Deployment web: container side") {
		t.Fatalf("err = %v; want the container named", err)
	}
}
