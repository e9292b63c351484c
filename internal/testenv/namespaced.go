package testenv

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// namespacedUser is a ServiceAccount allowed everything in its own namespace
// and nothing else (no ClusterRole, no cluster-scoped access): the user of a
// shared cluster who owns one namespace.
const namespacedUser = `apiVersion: v1
kind: ServiceAccount
metadata:
  name: devloop-user
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: devloop-user
rules:
  - apiGroups: ["*"]
    resources: ["*"]
    verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: devloop-user
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: devloop-user
subjects:
  - kind: ServiceAccount
    name: devloop-user
`

// nodeReader lets the account read nodes, the one cluster-scoped read devloop
// needs: cluster detection (internal/deliver) lists them for the nodes'
// platforms and marks.
const nodeReader = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: NAME
rules:
  - apiGroups: [""]
    resources: ["nodes"]
    verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: NAME
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: NAME
subjects:
  - kind: ServiceAccount
    name: devloop-user
    namespace: NS
`

// NamespacedKubeconfig creates, in namespace ns (which must exist), a
// ServiceAccount bound by a Role to that namespace only (plus reading
// nodes, see nodeReader), and writes a kubeconfig that authenticates as it
// with a token (context "devloop-user", its namespace ns, the environment's
// API server and CA). It returns the kubeconfig's path; the namespace's
// deletion removes the account, the test's end the node reader.
func (e *Env) NamespacedKubeconfig(t testing.TB, ns string) string {
	t.Helper()
	return e.namespacedKubeconfig(t, ns, true)
}

// NamespacedKubeconfigNoNodes is NamespacedKubeconfig without reading
// nodes: the account may touch nothing outside its namespace.
func (e *Env) NamespacedKubeconfigNoNodes(t testing.TB, ns string) string {
	t.Helper()
	return e.namespacedKubeconfig(t, ns, false)
}

func (e *Env) namespacedKubeconfig(t testing.TB, ns string, nodes bool) string {
	t.Helper()
	e.Apply(t, ns, namespacedUser)
	if nodes {
		reader := "devloop-node-reader-" + ns
		t.Cleanup(func() {
			_ = e.Command(context.Background(), "kubectl", "delete", "--ignore-not-found", "clusterrolebinding/"+reader, "clusterrole/"+reader).Run()
		})
		e.Apply(t, ns, strings.ReplaceAll(strings.ReplaceAll(nodeReader, "NAME", reader), "NS", ns))
	}
	token := strings.TrimSpace(MustRun(t, e.Command(context.Background(), "kubectl", "-n", ns, "create", "token", "devloop-user", "--duration=2h")))
	var view struct {
		Clusters []struct {
			Cluster map[string]any `json:"cluster"`
		} `json:"clusters"`
	}
	args := []string{"config", "view", "--raw", "--minify", "--flatten", "-o", "json"}
	if e.KubeContext != "" {
		args = append(args, "--context", e.KubeContext)
	}
	raw := e.Command(context.Background(), "kubectl", args...)
	out, err := raw.Output()
	if err != nil {
		t.Fatalf("kubectl config view: %v", err)
	}
	if err := json.Unmarshal(out, &view); err != nil || len(view.Clusters) != 1 {
		t.Fatalf("kubectl config view: %v (%d clusters)", err, len(view.Clusters))
	}
	kc := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []any{map[string]any{"name": "env", "cluster": view.Clusters[0].Cluster}},
		"users":           []any{map[string]any{"name": "devloop-user", "user": map[string]any{"token": token}}},
		"contexts":        []any{map[string]any{"name": "devloop-user", "context": map[string]any{"cluster": "env", "user": "devloop-user", "namespace": ns}}},
		"current-context": "devloop-user",
	}
	b, err := json.Marshal(kc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig-"+ns)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	// The account really is confined: it may not read another namespace.
	check := e.Command(context.Background(), "kubectl", "--kubeconfig", path, "-n", "default", "get", "configmaps")
	if out, err := check.CombinedOutput(); err == nil || !strings.Contains(string(out), "forbidden") {
		t.Fatalf("the namespaced account can read the default namespace (%v):\n%s", err, out)
	}
	return path
}
