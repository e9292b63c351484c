package debug

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      volumes: [{name: data, emptyDir: {}}]
      containers:
      - name: web
        image: web:abc
        ports: [{name: http, containerPort: 8080}]
        livenessProbe: {httpGet: {path: /healthz, port: 8080}}
        readinessProbe: {httpGet: {path: /ready, port: 8080}}
        startupProbe: {httpGet: {path: /ready, port: 8080}}
      - name: sidecar
        image: proxy:1
        readinessProbe: {tcpSocket: {port: 9000}}
`

func parse(t *testing.T, docs ...string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	for _, d := range docs {
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(d), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func container(t *testing.T, u *unstructured.Unstructured, name string) map[string]any {
	t.Helper()
	spec, _, _ := unstructured.NestedMap(u.Object, "spec", "template", "spec")
	c := containerNamed(spec, name)
	if c == nil {
		t.Fatalf("no container %s", name)
	}
	return c
}

var support = map[Runtime]string{Go: "devloop-debug-go:1.27.2", Python: "devloop-debug-python:1.6.6"}

func TestRewriteGo(t *testing.T) {
	objs := parse(t, deployment)
	targets := map[string]Target{"web:abc": {Artifact: "web", Image: ImageConfig{
		Entrypoint: []string{"/web"}, Cmd: []string{"-addr", ":8080"}, Env: []string{"GOTRACEBACK=single"}, WorkingDir: "/srv"}}}
	found, err := Rewrite(objs, targets, support)
	if err != nil {
		t.Fatal(err)
	}
	want := []Container{{Object: "deployment/web", Container: "web", Artifact: "web", Runtime: Go, Port: 56268}}
	if !reflect.DeepEqual(found, want) {
		t.Fatalf("found %+v, want %+v", found, want)
	}
	web := container(t, objs[0], "web")
	wantCmd := []string{"/dbg/go/dlv", "exec", "--headless", "--continue", "--accept-multiclient", "--api-version=2",
		"--listen=:56268", "/web", "--", "-addr", ":8080"}
	if got := stringList(web["command"]); !reflect.DeepEqual(got, wantCmd) {
		t.Errorf("command %q, want %q", got, wantCmd)
	}
	if _, ok := web["args"]; ok {
		t.Error("args kept beside the rewritten command")
	}
	for _, p := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		if _, ok := web[p]; ok {
			t.Errorf("%s kept on the debugged container", p)
		}
	}
	if _, ok := container(t, objs[0], "sidecar")["readinessProbe"]; !ok {
		t.Error("the probe of a container that is not debugged was removed")
	}
	ports := list(web["ports"])
	if len(ports) != 2 || !reflect.DeepEqual(ports[1], map[string]any{"name": "dlv", "containerPort": int64(56268), "protocol": "TCP"}) {
		t.Errorf("ports %v", ports)
	}
	if !reflect.DeepEqual(list(web["volumeMounts"]), []any{map[string]any{"name": Volume, "mountPath": Dir}}) {
		t.Errorf("volumeMounts %v", web["volumeMounts"])
	}
	spec, _, _ := unstructured.NestedMap(objs[0].Object, "spec", "template", "spec")
	if vols := list(spec["volumes"]); len(vols) != 2 || vols[1].(map[string]any)["name"] != Volume {
		t.Errorf("volumes %v", vols)
	}
	inits := list(spec["initContainers"])
	if len(inits) != 1 {
		t.Fatalf("init containers %v", inits)
	}
	init := inits[0].(map[string]any)
	if init["image"] != "devloop-debug-go:1.27.2" || !reflect.DeepEqual(stringList(init["command"]), []string{"/busybox", "cp", "-R", "/support/go", "/dbg/"}) {
		t.Errorf("init container %v", init)
	}
	raw, _, _ := unstructured.NestedString(objs[0].Object, "spec", "template", "metadata", "annotations", Annotation)
	var ann map[string]map[string]any
	if err := json.Unmarshal([]byte(raw), &ann); err != nil {
		t.Fatalf("annotation %q: %v", raw, err)
	}
	wantAnn := map[string]map[string]any{"web": {"artifact": "web", "runtime": "go", "workingDir": "/srv", "ports": map[string]any{"dlv": float64(56268)}}}
	if !reflect.DeepEqual(ann, wantAnn) {
		t.Errorf("annotation %v, want %v", ann, wantAnn)
	}
}

func TestRewriteManifestCommandAndConfiguredRuntime(t *testing.T) {
	objs := parse(t, strings.Replace(deployment, "image: web:abc", "image: web:abc\n        command: [/bin/server]\n        args: [--v]", 1))
	targets := map[string]Target{"web:abc": {Artifact: "web", Runtime: Go, Image: ImageConfig{Entrypoint: []string{"/ignored"}}}}
	if _, err := Rewrite(objs, targets, support); err != nil {
		t.Fatal(err)
	}
	got := stringList(container(t, objs[0], "web")["command"])
	if got[len(got)-3] != "/bin/server" || got[len(got)-1] != "--v" {
		t.Errorf("command %q: not the manifest's command under dlv", got)
	}
}

func TestRewriteUnknownRuntimeLeavesTheContainer(t *testing.T) {
	objs := parse(t, deployment)
	before := objs[0].DeepCopy()
	found, err := Rewrite(objs, map[string]Target{"web:abc": {Artifact: "web", Image: ImageConfig{Entrypoint: []string{"/web"}}}}, support)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Runtime != "" || !strings.Contains(found[0].Reason, "runtime is unknown") {
		t.Fatalf("found %+v", found)
	}
	if !reflect.DeepEqual(before.Object, objs[0].Object) {
		t.Error("an undebuggable container's object was changed")
	}
}

func TestRewriteNoCommand(t *testing.T) {
	objs := parse(t, deployment)
	found, err := Rewrite(objs, map[string]Target{"web:abc": {Artifact: "web", Runtime: Go}}, support)
	if err != nil || len(found) != 1 || found[0].Runtime != "" || !strings.Contains(found[0].Reason, "command") {
		t.Fatalf("found %+v, %v", found, err)
	}
}

func TestRewritePythonPortTakenAndEnv(t *testing.T) {
	objs := parse(t, `
apiVersion: v1
kind: Pod
metadata: {name: api}
spec:
  containers:
  - name: api
    image: api:1
    ports: [{name: dap, containerPort: 5678}]
    env: [{name: PYTHONPATH, value: /src}]
`)
	targets := map[string]Target{"api:1": {Artifact: "api", Image: ImageConfig{Cmd: []string{"python3", "app.py"}}}}
	found, err := Rewrite(objs, targets, support)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Runtime != Python || found[0].Port != 5679 {
		t.Fatalf("found %+v (want python on 5679: 5678 is the app's)", found)
	}
	c := containerNamed(objs[0].Object["spec"].(map[string]any), "api")
	if got := stringList(c["command"]); !reflect.DeepEqual(got, []string{"python3", "-m", "debugpy", "--listen", "0.0.0.0:5679", "app.py"}) {
		t.Errorf("command %q", got)
	}
	if env := list(c["env"]); len(env) != 1 || !reflect.DeepEqual(env[0], map[string]any{"name": "PYTHONPATH", "value": "/dbg/python:/src"}) {
		t.Errorf("env %v", env)
	}
	if ports := list(c["ports"]); ports[1].(map[string]any)["name"] != "dap2" {
		t.Errorf("ports %v: the debug port's name must differ from the app's", ports)
	}
	raw, _, _ := unstructured.NestedString(objs[0].Object, "metadata", "annotations", Annotation)
	if !strings.Contains(raw, `"runtime":"python"`) {
		t.Errorf("pod annotation %q", raw)
	}
	fw := Forwards(objs)
	if len(fw) != 1 || fw[0] != (Forward{Kind: "pod", Name: "api", Container: "api", Artifact: "api", Runtime: Python, Protocol: "debugpy", Port: 5679}) {
		t.Errorf("forwards %+v", fw)
	}
}

func TestRewriteNodeNeedsNoSupportImage(t *testing.T) {
	objs := parse(t, deployment)
	targets := map[string]Target{"web:abc": {Artifact: "web", Image: ImageConfig{Cmd: []string{"node", "server.js"}}}}
	found, err := Rewrite(objs, targets, nil)
	if err != nil {
		t.Fatal(err)
	}
	if Runtimes(found) != nil {
		t.Errorf("Runtimes %v, want none", Runtimes(found))
	}
	spec, _, _ := unstructured.NestedMap(objs[0].Object, "spec", "template", "spec")
	if _, ok := spec["initContainers"]; ok {
		t.Error("an init container for node")
	}
	if got := stringList(container(t, objs[0], "web")["command"]); !reflect.DeepEqual(got, []string{"node", "--inspect=0.0.0.0:9229", "server.js"}) {
		t.Errorf("command %q", got)
	}
}

func TestRewriteMissingSupportImage(t *testing.T) {
	objs := parse(t, deployment)
	_, err := Rewrite(objs, map[string]Target{"web:abc": {Artifact: "web", Runtime: Go, Image: ImageConfig{Cmd: []string{"/web"}}}}, nil)
	if err == nil || !strings.Contains(err.Error(), "no support image for the go debugger") {
		t.Fatalf("err %v", err)
	}
}

func TestFindAndRuntimes(t *testing.T) {
	objs := parse(t, deployment, `
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: job, image: job:2, command: [python3, job.py]}]
`)
	targets := map[string]Target{
		"web:abc": {Artifact: "web", Image: ImageConfig{Env: []string{"GOTRACEBACK=all"}, Cmd: []string{"/web"}}},
		"job:2":   {Artifact: "job"},
	}
	before := objs[1].DeepCopy()
	found := Find(objs, targets)
	if len(found) != 2 || found[0].Runtime != Go || found[1].Runtime != Python || found[1].Object != "cronjob/nightly" {
		t.Fatalf("found %+v", found)
	}
	if !reflect.DeepEqual(before.Object, objs[1].Object) {
		t.Error("Find changed an object")
	}
	if got := Runtimes(found); !reflect.DeepEqual(got, []Runtime{Go, Python}) {
		t.Errorf("Runtimes %v", got)
	}
	if _, err := Rewrite(objs, targets, support); err != nil {
		t.Fatal(err)
	}
	if fw := Forwards(objs); len(fw) != 1 || fw[0].Kind != "deployment" || fw[0].Namespace != "shop" {
		t.Errorf("forwards %+v: only the Deployment's port can be forwarded", fw)
	}
}
