package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/pipeline"
)

// parse runs a command's flag parsing with a runF that captures the options.
func parse[T any](t *testing.T, newCmd func(*globalOptions, func(context.Context, *T) error) *cobra.Command, args ...string) (*globalOptions, *T) {
	t.Helper()
	g := &globalOptions{streams: Streams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, stop: func() {}}
	var got *T
	root := newRootCmd(g)
	for _, c := range root.Commands() {
		root.RemoveCommand(c)
	}
	root.AddCommand(newCmd(g, func(_ context.Context, o *T) error { got = o; return nil }))
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	if got == nil {
		t.Fatalf("parsing %v: the run function was not called", args)
	}
	return g, got
}

func TestRunFlags(t *testing.T) {
	g, o := parse(t, newRunCmd, "run", "-f", "x.yaml", "--kube-context", "kind-dev", "-p", "a", "-p", "b",
		"--platform", "linux/amd64,linux/arm64", "--force", "--adopt", "--tail", "--port-forward", "-n", "ns", "-o", "json")
	if g.File != "x.yaml" || g.KubeContext != "kind-dev" || strings.Join(g.Profiles, ",") != "a,b" || g.Output != "json" {
		t.Errorf("global options: %+v", g)
	}
	if strings.Join(splitList(o.Platforms), " ") != "linux/amd64 linux/arm64" || !o.Force || !o.Adopt || !o.Tail || !o.PortForward || o.Namespace != "ns" {
		t.Errorf("run options: %+v", o)
	}
}

func TestDevFlagsDefaults(t *testing.T) {
	_, o := parse(t, newDevCmd, "dev")
	if !o.Cleanup || o.CleanupData || o.NoLogs || o.QuietPeriod != 0 || o.Adopt {
		t.Errorf("dev defaults: %+v", o)
	}
	_, o = parse(t, newDevCmd, "dev", "--cleanup=false", "--cleanup-data", "--no-logs", "--quiet-period", "50ms", "--adopt")
	if o.Cleanup || !o.CleanupData || !o.NoLogs || o.QuietPeriod.Milliseconds() != 50 || !o.Adopt {
		t.Errorf("dev flags: %+v", o)
	}
}

func TestBuildAndRenderFlags(t *testing.T) {
	_, b := parse(t, newBuildCmd, "build", "--push", "--write-overlay", "--builder", "multi")
	if !b.Push || !b.WriteOverlay || b.Builder != "multi" {
		t.Errorf("build flags: %+v", b)
	}
	_, r := parse(t, newRenderCmd, "render", "--show-secrets")
	if !r.ShowSecrets {
		t.Errorf("render flags: %+v", r)
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		code int
	}{
		{nil, ExitOK},
		{errors.New("build failed"), ExitFailure},
		{fmt.Errorf("wrapped: %w", &config.Error{File: "devloop.yaml", Line: 1, Column: 1, Msg: "bad"}), ExitUsage},
		{config.ErrorList{{File: "devloop.yaml", Msg: "bad"}}, ExitUsage},
		{&kube.NotAllowedError{Context: "prod"}, ExitUsage},
		{&kube.ContextError{Context: "nope"}, ExitUsage},
		{&pipeline.InputError{Err: errors.New("no such service")}, ExitUsage},
		{usageErrorf("bad flag"), ExitUsage},
		{context.Canceled, ExitSignal},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.code {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

func TestRunBadConfigExitsTwoWithoutCluster(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "devloop.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: x\n  bogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	for _, cmd := range []string{"render", "run", "build", "dev", "delete", "config"} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), func() {}, []string{cmd, "-f", p}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want 2; stderr %q", cmd, code, errb.String())
		}
		if !strings.Contains(errb.String(), `devloop.yaml:5:3: unknown field "bogus"`) {
			t.Errorf("%s: stderr %q lacks the line:column error", cmd, errb.String())
		}
	}
}

func TestUnknownFlagExitsTwo(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), func() {}, []string{"run", "--nope"}, Streams{Out: &out, Err: &errb}); code != ExitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
}

// --dry-run previews an adoption: without --adopt (or deploy.adopt) it is
// bad input, found before any cluster is contacted.
func TestRunDryRunNeedsAdopt(t *testing.T) {
	_, o := parse(t, newRunCmd, "run", "--adopt", "--dry-run")
	if !o.DryRun || !o.Adopt {
		t.Errorf("run options: %+v", o)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "devloop.yaml")
	if err := os.WriteFile(p, []byte("apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: x\ndeploy:\n  kustomize:\n    path: .\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", filepath.Join(dir, "no-kubeconfig"))
	for _, args := range [][]string{{"run", "--dry-run"}, {"run", "--adopt", "--dry-run", "--tail"}} {
		var out, errb bytes.Buffer
		code := Run(context.Background(), func() {}, append(args, "-f", p), Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
		if code != ExitUsage || !strings.Contains(errb.String(), "--dry-run") {
			t.Errorf("%v: exit %d, want 2 naming --dry-run; stderr %q", args, code, errb.String())
		}
	}
}
