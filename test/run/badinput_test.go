package runtest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// noCluster points kubectl-style config and the engine at nothing: a command
// that contacted either would fail differently from the validation errors
// the config-only cases expect.
func noCluster(t *testing.T) []string {
	return []string{
		"KUBECONFIG=" + filepath.Join(t.TempDir(), "no-kubeconfig"),
		"DOCKER_HOST=unix:///nonexistent.sock",
	}
}

// configLoc matches the file:line:col of an error in devloop.yaml.
var configLoc = regexp.MustCompile(`devloop\.yaml:\d+:\d+`)

// TestBadInput: every kind of bad configuration gets exit code 2 and a
// message naming the problem, from `render` and from `run` alike, before
// any cluster or engine is contacted.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, dir string)
		want   string // regexp the output must match
		loc    bool   // the message names devloop.yaml:line:col
		// render: the problem shows only when the overlay is rendered, which
		// `run` does after resolving the kube context; without a cluster it
		// stops at the context (exit 2), so it is checked on the real one too.
		render bool
	}{
		{"empty", func(t *testing.T, dir string) { writeFile(t, dir, "devloop.yaml", "") },
			`(?i)empty`, true, false},
		{"not YAML", func(t *testing.T, dir string) {
			writeFile(t, dir, "devloop.yaml", "apiVersion: devloop.dev/v1alpha1\nkind: [Config\n  metadata: {{\n")
			// yaml.v3 reports syntax errors by line only: devloop.yaml:1: ...
		}, `devloop\.yaml:\d+: .*(?i)yaml`, false, false},
		{"wrong apiVersion", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "apiVersion: devloop.dev/v1alpha1", "apiVersion: devloop.dev/v9")
		}, `apiVersion.*devloop\.dev/v9|devloop\.dev/v9.*apiVersion`, true, false},
		{"wrong kind", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "kind: Config", "kind: Pipeline")
		}, `Pipeline`, true, false},
		{"unknown field", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "  statusTimeout: 3m", "  statusTimeout: 3m\n  staus: 1")
		}, `unknown field "staus"`, true, false},
		{"duplicated field", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "  statusTimeout: 3m", "  statusTimeout: 3m\n  statusTimeout: 4m")
		}, `(?i)statusTimeout.*(duplicate|already|twice|more than once)|(duplicate|already|twice|more than once).*statusTimeout`, true, false},
		{"wrong type", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "port: 80", "port: eighty")
		}, `(?i)port.*(integer|number|int)|eighty`, true, false},
		{"missing context dir", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "context: store", "context: nowhere")
		}, `nowhere`, true, false},
		{"missing Dockerfile", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "context: store", "context: store\n      dockerfile: Nope.Dockerfile")
		}, `Nope\.Dockerfile`, true, false},
		{"missing kustomize path", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "path: k8s/overlays/dev", "path: k8s/overlays/nope")
		}, `k8s/overlays/nope`, true, false},
		{"kustomization that does not build", func(t *testing.T, dir string) {
			edit(t, dir, "k8s/overlays/dev/kustomization.yaml", "  - ../../base", "  - ../../base\n  - missing.yaml")
		}, `missing\.yaml`, false, true},
		{"port-forward to an undefined resource", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "resource: service/notes-web", "resource: service/notes-nope")
		}, `service/notes-nope|notes-nope`, false, true},
		{"two artifacts with the same image", func(t *testing.T, dir string) {
			edit(t, dir, "devloop.yaml", "- image: notes-seed", "- image: notes-store")
		}, `(?i)notes-store.*(twice|duplicate|already|more than once|same)|(twice|duplicate|already|more than once|same).*notes-store`, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := testenv.CopyExample(t, "notes")
			tc.mutate(t, dir)
			want := regexp.MustCompile(tc.want)
			for _, cmd := range [][]string{{"render"}, {"run"}, {"run", "-o", "json"}} {
				r := devloop(t, dir, noCluster(t), time.Minute, cmd...)
				out := r.Output()
				if tc.render && cmd[0] == "run" {
					if r.Code != 2 {
						t.Errorf("devloop %s without a cluster exited %d, want 2:\n%s", strings.Join(cmd, " "), r.Code, tail(out, 20))
					}
					continue
				}
				if r.Code != 2 {
					t.Errorf("devloop %s exited %d, want 2:\n%s", strings.Join(cmd, " "), r.Code, tail(out, 20))
					continue
				}
				if !want.MatchString(out) {
					t.Errorf("devloop %s: output does not match %q:\n%s", strings.Join(cmd, " "), tc.want, tail(out, 20))
				}
				if tc.loc && !configLoc.MatchString(out) {
					t.Errorf("devloop %s: output names no devloop.yaml:line:col:\n%s", strings.Join(cmd, " "), tail(out, 20))
				}
				if strings.Contains(out, "nonexistent.sock") || strings.Contains(out, "no-kubeconfig") {
					t.Errorf("devloop %s contacted the engine or the cluster before validating:\n%s", strings.Join(cmd, " "), tail(out, 20))
				}
				if len(cmd) == 3 {
					evs := parseEvents(t, r.Stdout)
					if b := filter(evs, "build", ""); len(b) != 0 {
						t.Errorf("build events on a bad config:%s", dump(evs))
					}
				}
			}
			if !tc.render {
				return
			}
			t.Run("run on the real cluster", func(t *testing.T) {
				env := testenv.Require(t)
				name := regexp.MustCompile(`(?m)^  name: (\S+)`).FindStringSubmatch(readFile(t, dir, "devloop.yaml"))[1]
				t.Cleanup(func() {
					_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
				})
				r := devloop(t, dir, nil, 10*time.Minute, "run", "-o", "json")
				if r.Code != 2 || !want.MatchString(r.Output()) {
					t.Errorf("devloop run exited %d, want 2 with a message matching %q:\n%s", r.Code, tc.want, tail(r.Output(), 20))
				}
				if c := filter(parseEvents(t, r.Stdout), "apply", "start"); len(c) != 0 {
					t.Errorf("devloop run applied despite the bad overlay")
				}
			})
		})
	}
}

// TestBadEnvironment: a missing kube context, a non-local context, no engine
// and no buildx plugin each stop devloop with a clear message.
func TestBadEnvironment(t *testing.T) {
	env := testenv.Require(t)
	t.Run("kube context that does not exist", func(t *testing.T) {
		dir, _ := testenv.CopyExample(t, "notes")
		for _, cmd := range []string{"run", "build", "delete"} {
			r := devloop(t, dir, nil, time.Minute, cmd, "--kube-context", "nope", "-o", "json")
			if r.Code != 2 || !strings.Contains(r.Output(), `"nope"`) {
				t.Errorf("devloop %s --kube-context nope: exit %d, want 2 naming the context:\n%s", cmd, r.Code, tail(r.Output(), 10))
			}
			if evs := parseEvents(t, r.Stdout); len(filter(evs, "build", "")) != 0 {
				t.Errorf("devloop %s built with a missing context:%s", cmd, dump(evs))
			}
		}
	})
	t.Run("non-local context not allowed", func(t *testing.T) {
		dir, _ := testenv.CopyExample(t, "notes")
		kc := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(kc, []byte(prodKubeconfig), 0o600); err != nil {
			t.Fatal(err)
		}
		// Change an artifact so that a build would be needed if devloop went on.
		writeFile(t, dir, "web/extra.go", "package main\n\nconst extra = \""+t.Name()+time.Now().String()+"\"\n")
		for _, cmd := range []string{"run", "build"} {
			r := devloop(t, dir, []string{"KUBECONFIG=" + kc}, time.Minute, cmd, "-o", "json")
			out := r.Output()
			if r.Code != 2 {
				t.Errorf("devloop %s on prod-eu exited %d, want 2:\n%s", cmd, r.Code, tail(out, 10))
			}
			if !strings.Contains(out, "prod-eu") || !strings.Contains(out, "allowContexts") || !strings.Contains(out, "--allow-context") {
				t.Errorf("devloop %s: the refusal must name the context and how to allow it (allowContexts, --allow-context):\n%s", cmd, tail(out, 10))
			}
			evs := parseEvents(t, r.Stdout)
			if len(filter(evs, "build", "")) != 0 || len(filter(evs, "hash", "")) != 0 {
				t.Errorf("devloop %s started building before refusing the context:%s", cmd, dump(evs))
			}
		}
	})
	t.Run("broken overlay fails before any build", func(t *testing.T) {
		dir, _ := testenv.CopyExample(t, "notes")
		// A source change that would need a build, and an overlay naming a
		// resource file that does not exist.
		writeFile(t, dir, "web/extra.go", "package main\n\nconst extra = \""+t.Name()+time.Now().String()+"\"\n")
		edit(t, dir, "k8s/overlays/dev/kustomization.yaml", "resources:\n", "resources:\n  - missing.yaml\n")
		r := devloop(t, dir, nil, 2*time.Minute, "run", "-o", "json")
		if r.Code != 2 || !strings.Contains(r.Output(), "missing.yaml") {
			t.Errorf("devloop run with a broken overlay: exit %d, want 2 naming missing.yaml:\n%s", r.Code, tail(r.Output(), 10))
		}
		if evs := parseEvents(t, r.Stdout); len(filter(evs, "build", "")) != 0 || len(filter(evs, "hash", "")) != 0 {
			t.Errorf("devloop run hashed or built before finding the overlay broken:%s", dump(evs))
		}
	})
	t.Run("no Docker Engine", func(t *testing.T) {
		dir, name := testenv.CopyExample(t, "notes")
		t.Cleanup(func() {
			_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
		})
		writeFile(t, dir, "web/extra.go", "package main\n\nconst extra = \""+t.Name()+time.Now().String()+"\"\n")
		for _, cmd := range []string{"build", "run"} {
			r := devloop(t, dir, []string{"DOCKER_HOST=unix:///nonexistent.sock"}, 2*time.Minute, cmd)
			out := r.Output()
			if r.Code != 1 && r.Code != 2 {
				t.Errorf("devloop %s without an engine exited %d, want 1 or 2:\n%s", cmd, r.Code, tail(out, 10))
			}
			if !regexp.MustCompile(`(?i)no Docker Engine|Docker daemon|is it running`).MatchString(out) || !strings.Contains(out, "nonexistent.sock") {
				t.Errorf("devloop %s: the message must say there is no engine at DOCKER_HOST:\n%s", cmd, tail(out, 10))
			}
		}
	})
	t.Run("no buildx plugin", func(t *testing.T) {
		dir, name := testenv.CopyExample(t, "notes")
		t.Cleanup(func() {
			_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
		})
		writeFile(t, dir, "web/extra.go", "package main\n\nconst extra = \""+t.Name()+time.Now().String()+"\"\n")
		r := devloop(t, dir, []string{"DOCKER_CONFIG=" + t.TempDir()}, 2*time.Minute, "build")
		out := r.Output()
		if r.Code != 1 && r.Code != 2 {
			t.Errorf("devloop build without buildx exited %d, want 1 or 2:\n%s", r.Code, tail(out, 10))
		}
		if !regexp.MustCompile(`(?i)buildx.*(not installed|not found|missing|plugin)`).MatchString(out) {
			t.Errorf("devloop build without the buildx plugin: the message must say buildx is missing:\n%s", tail(out, 15))
		}
	})
}

const prodKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: prod-eu
  cluster:
    server: https://prod.example.invalid:6443
contexts:
- name: prod-eu
  context:
    cluster: prod-eu
    user: prod
current-context: prod-eu
users:
- name: prod
  user:
    token: not-a-secret
`

// TestWatchedTree: odd trees inside a build context (a symlink loop, names
// with spaces and non-UTF-8 bytes) neither hang nor crash `render` and
// `build`. They are valid build contexts, so both succeed.
func TestWatchedTree(t *testing.T) {
	cases := []struct {
		name string
		make func(t *testing.T, ctx string)
	}{
		{"symlink loop", func(t *testing.T, ctx string) {
			mustDo(t, os.MkdirAll(filepath.Join(ctx, "cycle"), 0o755))
			mustDo(t, os.Symlink("..", filepath.Join(ctx, "cycle", "up"))) // a directory cycle
			mustDo(t, os.Symlink("loop-b", filepath.Join(ctx, "loop-a")))  // a → b → a
			mustDo(t, os.Symlink("loop-a", filepath.Join(ctx, "loop-b")))
		}},
		{"file name with spaces", func(t *testing.T, ctx string) {
			writeFile(t, ctx, "dir with spaces/a file with spaces.txt", "spaces\n")
		}},
		{"file name with non-UTF-8 bytes", func(t *testing.T, ctx string) {
			writeFile(t, ctx, "latin1-\xe9t\xe9\xff.txt", "bytes\n")
		}},
		{"unreadable directory", func(t *testing.T, ctx string) {
			if os.Geteuid() == 0 {
				t.Skip("running as root: a mode-000 directory is still readable, so this case cannot be made")
			}
			mustDo(t, os.MkdirAll(filepath.Join(ctx, "secret"), 0o755))
			writeFile(t, ctx, "secret/x.txt", "x\n")
			mustDo(t, os.Chmod(filepath.Join(ctx, "secret"), 0))
			t.Cleanup(func() { _ = os.Chmod(filepath.Join(ctx, "secret"), 0o755) })
		}},
	}
	for _, tc := range cases {
		t.Run("render/"+tc.name, func(t *testing.T) {
			dir, _ := testenv.CopyExample(t, "notes")
			tc.make(t, filepath.Join(dir, "seed"))
			r := devloop(t, dir, noCluster(t), time.Minute, "render")
			if r.Code != 0 && tc.name != "unreadable directory" {
				t.Errorf("devloop render exited %d:\n%s", r.Code, tail(r.Output(), 15))
			}
			if !strings.Contains(r.Stdout, "image: notes-seed:") {
				t.Errorf("render did not tag notes-seed:\n%s", tail(r.Output(), 15))
			}
		})
	}
	// One build of a context holding all the odd files at once (a build of
	// notes-seed per case would cost minutes for no more coverage).
	t.Run("build with all of them", func(t *testing.T) {
		env := testenv.Require(t)
		dir, name := testenv.CopyExample(t, "notes")
		t.Cleanup(func() {
			_ = env.Command(context.Background(), "kubectl", "delete", "namespace", name, "--wait=false", "--ignore-not-found").Run()
		})
		for _, tc := range cases[:3] {
			tc.make(t, filepath.Join(dir, "seed"))
		}
		// Content no earlier run had, so that buildx really sends this context.
		writeFile(t, dir, "seed/unique.txt", name+"\n")
		r := devloop(t, dir, nil, 10*time.Minute, "build", "-o", "json")
		if r.Code != 0 {
			t.Fatalf("devloop build exited %d:\n%s", r.Code, tail(r.Output(), 30))
		}
		if got := buildStatus(parseEvents(t, r.Stdout)); got["notes-seed"] != "done" {
			t.Errorf("notes-seed build status %q", got["notes-seed"])
		}
	})
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
