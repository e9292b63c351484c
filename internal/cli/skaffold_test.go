package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// skaffoldProject writes a skaffold.yaml (and what it names) into a fresh
// directory.
func skaffoldProject(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	for f, c := range map[string]string{
		"k8s/kustomization.yaml": "resources: [cm.yaml]\n",
		"k8s/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-skaffold\n",
		"skaffold.yaml":          content,
	} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goodSkaffold = "apiVersion: skaffold/v4beta14\nkind: Config\nmetadata:\n  name: sk\nmanifests:\n  kustomize:\n    paths: [k8s]\n"

func TestConfigReadsSkaffoldYAMLWithoutDevloopYAML(t *testing.T) {
	dir := skaffoldProject(t, goodSkaffold)
	t.Chdir(dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	var out, errb bytes.Buffer
	code := Run(context.Background(), func() {}, []string{"config"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitOK {
		t.Fatalf("exit %d; stderr %q", code, errb.String())
	}
	if !strings.Contains(out.String(), "name: sk") || !strings.Contains(out.String(), "path: k8s") {
		t.Errorf("config output does not show the translated skaffold.yaml:\n%s", out.String())
	}
}

func TestBadSkaffoldYAMLExitsTwo(t *testing.T) {
	dir := skaffoldProject(t, goodSkaffold+"build:\n  artifacts:\n  - image: web\n    jib: {}\n")
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	p := filepath.Join(dir, "skaffold.yaml")
	for _, cmd := range []string{"render", "run", "build", "dev", "delete", "config"} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), func() {}, []string{cmd, "-f", p}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want 2; stderr %q", cmd, code, errb.String())
		}
		if !strings.Contains(errb.String(), "skaffold.yaml:11:5: build.artifacts[0].jib: devloop does not build with Jib") {
			t.Errorf("%s: stderr %q lacks the line:column error", cmd, errb.String())
		}
	}
}

func TestModuleFlagSelectsSkaffoldConfigurations(t *testing.T) {
	two := goodSkaffold + "---\napiVersion: skaffold/v4beta14\nkind: Config\nmetadata:\n  name: other\nmanifests:\n  kustomize:\n    paths: [k8s]\n"
	dir := skaffoldProject(t, two)
	t.Chdir(dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"config", "-m", "other"}, ExitOK, "name: other"},
		{[]string{"config", "--module=sk,other"}, ExitOK, "name: sk"},
		{[]string{"config", "-m", "nope"}, ExitUsage, `--module nope: no configuration of skaffold.yaml`},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), func() {}, tc.args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("%v: exit %d (want %d), output lacks %q:\n%s%s", tc.args, code, tc.code, tc.want, out.String(), errb.String())
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "devloop.yaml"), []byte("apiVersion: devloop.dev/v1alpha1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), func() {}, []string{"config", "-m", "sk"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	if code != ExitUsage || !strings.Contains(errb.String(), "--module selects configurations of a skaffold.yaml") {
		t.Errorf("-m with a devloop.yaml: exit %d, stderr %q", code, errb.String())
	}
}

func TestProfileFlagWithSkaffold(t *testing.T) {
	dir := skaffoldProject(t, goodSkaffold+`profiles:
- name: auto
  activation: [{command: config}]
  portForward: [{resourceType: service, resourceName: auto, port: 80}]
- name: pf
  portForward: [{resourceType: service, resourceName: pf, port: 80}]
- name: slow
  deploy: {statusCheckDeadlineSeconds: 600}
`)
	t.Chdir(dir)
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	for _, tc := range []struct {
		args      []string
		code      int
		want, not string
	}{
		{[]string{"config"}, ExitOK, "service/auto", "service/pf"},
		{[]string{"config", "-p", "pf,slow"}, ExitOK, "service/pf", "service/auto"},
		{[]string{"config", "-p", "slow"}, ExitOK, "statusTimeout: 10m ", "statusTimeout: 5m"},
		{[]string{"config", "-p", "-auto"}, ExitOK, "path: k8s", "service/auto"},
		{[]string{"config", "-p", "nope"}, ExitUsage, `unknown profile "nope"; declared profiles: auto, pf, slow`, ""},
	} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), func() {}, tc.args, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
		all := out.String() + errb.String()
		if code != tc.code || !strings.Contains(all, tc.want) || (tc.not != "" && strings.Contains(all, tc.not)) {
			t.Errorf("%v: exit %d (want %d); want %q, not %q in:\n%s", tc.args, code, tc.code, tc.want, tc.not, all)
		}
	}
}
