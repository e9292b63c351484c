package runtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// kindNamedRemote is a kubeconfig whose context is named as kind names its
// contexts but whose API server is in TEST-NET-1 (RFC 5737): no such host
// exists, so a devloop that tried to reach it would hang until its timeout.
const kindNamedRemote = `apiVersion: v1
kind: Config
clusters:
- name: kind-something
  cluster:
    server: https://192.0.2.1:6443
contexts:
- name: kind-something
  context:
    cluster: kind-something
    user: kind-something
current-context: kind-something
users:
- name: kind-something
  user:
    token: not-a-secret
`

// TestLocalNameRemoteServer: a context named like a local cluster tool's
// whose server is neither loopback nor on this machine's container networks
// is refused before anything is built or contacted.
func TestLocalNameRemoteServer(t *testing.T) {
	testenv.Require(t)
	dir, _ := testenv.CopyExample(t, "notes")
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(kindNamedRemote), 0o600); err != nil {
		t.Fatal(err)
	}
	// A source change, so that a build would be needed if devloop went on.
	writeFile(t, dir, "web/extra.go", "package main\n\nconst extra = \""+t.Name()+time.Now().String()+"\"\n")
	for _, cmd := range []string{"run", "dev", "build", "delete"} {
		r := devloop(t, dir, []string{"KUBECONFIG=" + kc}, 30*time.Second, cmd, "-o", "json")
		out := r.Output()
		if r.Code != 2 {
			t.Errorf("devloop %s on kind-something at 192.0.2.1 exited %d, want 2:\n%s", cmd, r.Code, tail(out, 10))
		}
		if r.Elapsed > 5*time.Second {
			t.Errorf("devloop %s took %s to refuse: it must decide without contacting the server", cmd, r.Elapsed.Round(time.Millisecond))
		}
		for _, want := range []string{"192.0.2.1", "kind-something", "--allow-context"} {
			if !strings.Contains(out, want) {
				t.Errorf("devloop %s: the refusal must name %q:\n%s", cmd, want, tail(out, 10))
			}
		}
		evs := parseEvents(t, r.Stdout)
		if len(filter(evs, "build", "")) != 0 || len(filter(evs, "hash", "")) != 0 || len(filter(evs, "detect", "")) != 0 {
			t.Errorf("devloop %s went on before refusing the context:%s", cmd, dump(evs))
		}
	}
}
