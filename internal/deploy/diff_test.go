package deploy

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func yamlObj(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatalf("parsing %s: %v", y, err)
	}
	return &unstructured.Unstructured{Object: m}
}

func lines(changes []FieldChange) string {
	var b strings.Builder
	for _, c := range changes {
		b.WriteString(c.String() + "\n")
	}
	return b.String()
}

// A hand-made Deployment replaced by devloop's: the other container is
// removed, devloop's added, the labels changed; status and the server's
// metadata are not differences.
func TestDiffDeploymentContainersByName(t *testing.T) {
	live := yamlObj(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  uid: u1
  resourceVersion: "41"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: kubectl-create}]
  labels: {app: api}
  annotations: {deployment.kubernetes.io/revision: "1"}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: else, image: someone/else:1}
status: {replicas: 1}
`)
	repl := yamlObj(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  uid: u1
  resourceVersion: "42"
  generation: 4
  labels: {app: api, app.kubernetes.io/managed-by: devloop}
  annotations: {deployment.kubernetes.io/revision: "1", devloop.dev/applied-hash: abc, devloop.dev/adopted: "true"}
spec:
  replicas: 1.0
  template:
    spec:
      containers:
      - {name: api, image: api:dev}
status: {replicas: 2}
`)
	got := lines(Diff(live.Object, repl.Object))
	want := `+ metadata.annotations["devloop.dev/adopted"]: "true"
+ metadata.labels["app.kubernetes.io/managed-by"]: "devloop"
+ spec.template.spec.containers[name=api]: {"image":"api:dev","name":"api"}
- spec.template.spec.containers[name=else]: {"image":"someone/else:1","name":"else"}
`
	if got != want {
		t.Errorf("Diff:\n%s\nwant:\n%s", got, want)
	}
}

// Lists without distinct names are compared by index; scalars changed,
// keys removed and whole maps removed each show.
func TestDiffByIndexAndScalars(t *testing.T) {
	live := yamlObj(t, `{kind: Service, metadata: {name: s}, spec: {type: ClusterIP, ports: [{port: 80, targetPort: 8080}, {port: 9090}], sessionAffinity: None}}`)
	repl := yamlObj(t, `{kind: Service, metadata: {name: s}, spec: {type: ClusterIP, ports: [{port: 80, targetPort: 8081}]}}`)
	got := lines(Diff(live.Object, repl.Object))
	want := "~ spec.ports[0].targetPort: 8080 → 8081\n- spec.ports[1]: {\"port\":9090}\n- spec.sessionAffinity: \"None\"\n"
	if got != want {
		t.Errorf("Diff:\n%s\nwant:\n%s", got, want)
	}
	if d := Diff(live.Object, live.Object); len(d) != 0 {
		t.Errorf("an object differs from itself: %v", d)
	}
}

func TestDiffConfigMapExtraKey(t *testing.T) {
	live := yamlObj(t, `{kind: ConfigMap, metadata: {name: c}, data: {owner: human, extra: "1"}}`)
	repl := yamlObj(t, `{kind: ConfigMap, metadata: {name: c}, data: {owner: devloop}}`)
	got := lines(Diff(live.Object, repl.Object))
	want := "- data.extra: \"1\"\n~ data.owner: \"human\" → \"devloop\"\n"
	if got != want {
		t.Errorf("Diff:\n%s\nwant:\n%s", got, want)
	}
}

func TestFieldChangeStringShortensLongValues(t *testing.T) {
	s := FieldChange{Path: "data.big", Old: strings.Repeat("x", 1000)}.String()
	if len(s) > maxValueLen+20 || !strings.HasSuffix(s, "…") {
		t.Errorf("a long value is printed whole (%d bytes): %.80s", len(s), s)
	}
}

func TestRedactChangesOfSecrets(t *testing.T) {
	secret := yamlObj(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}}`)
	changes := redactChanges(secret, []FieldChange{
		{Path: "data.password", Old: "aHVudGVyMg==", New: "c2VjcmV0"},
		{Path: "data", Old: map[string]any{"token": "eHl6"}},
		{Path: "metadata.labels.app", New: "web"},
	})
	got := lines(changes)
	if strings.Contains(got, "aHVudGVyMg") || strings.Contains(got, "c2VjcmV0") || strings.Contains(got, "eHl6") {
		t.Errorf("Secret values are printed:\n%s", got)
	}
	if !strings.Contains(got, `"token":"<redacted>"`) || !strings.Contains(got, `"web"`) {
		t.Errorf("redaction dropped the keys or other fields:\n%s", got)
	}
	cm := yamlObj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}`)
	if c := redactChanges(cm, []FieldChange{{Path: "data.a", Old: "1"}}); c[0].Old != "1" {
		t.Errorf("a ConfigMap's values were redacted: %v", c)
	}
}

// The replacing write carries the live resourceVersion, resets
// managedFields and keeps what controllers set that the manifests do not.
func TestAdoptionObject(t *testing.T) {
	desired := yamlObj(t, `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, annotations: {devloop.dev/adopted: "true"}}, spec: {resources: {requests: {storage: 1Gi}}}}`)
	live := yamlObj(t, `{apiVersion: v1, kind: PersistentVolumeClaim, metadata: {name: data, resourceVersion: "7",
  annotations: {pv.kubernetes.io/bind-completed: "yes", kubectl.kubernetes.io/last-applied-configuration: "{}", note: hand}},
  spec: {volumeName: pv-1, resources: {requests: {storage: 1Gi}}}}`)
	got := adoptionObject(desired, live)
	if got.GetResourceVersion() != "7" {
		t.Errorf("resourceVersion %q, want the live one", got.GetResourceVersion())
	}
	mf, _, _ := unstructured.NestedSlice(got.Object, "metadata", "managedFields")
	if len(mf) != 1 || len(mf[0].(map[string]any)) != 0 {
		t.Errorf("managedFields %v, want [{}] (the reset)", mf)
	}
	ann := got.GetAnnotations()
	if ann["pv.kubernetes.io/bind-completed"] != "yes" || ann["devloop.dev/adopted"] != "true" {
		t.Errorf("annotations %v: the binding's and devloop's must stay", ann)
	}
	if _, ok := ann["note"]; ok {
		t.Errorf("annotations %v: the hand-made one must go", ann)
	}
	if _, ok := ann["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		t.Errorf("annotations %v: kubectl's last applied configuration must go", ann)
	}
	if v, _, _ := unstructured.NestedString(got.Object, "spec", "volumeName"); v != "pv-1" {
		t.Errorf("spec.volumeName %q, want the bound volume kept", v)
	}
	if desired.GetResourceVersion() != "" || desired.GetAnnotations()["pv.kubernetes.io/bind-completed"] != "" {
		t.Error("adoptionObject changed the desired object")
	}
}
