package runtest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// object is the part of a rendered manifest the profile tests read.
type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec struct {
				Containers []struct {
					Name      string `yaml:"name"`
					Image     string `yaml:"image"`
					Resources struct {
						Limits map[string]string `yaml:"limits"`
					} `yaml:"resources"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func parseManifests(t *testing.T, s string) map[string]object {
	t.Helper()
	objs := map[string]object{}
	dec := yaml.NewDecoder(strings.NewReader(s))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("render output is not YAML: %v\n%s", err, s)
		}
		if o.Kind != "" {
			objs[o.Kind+"/"+o.Metadata.Name] = o
		}
	}
}

// images returns container name → image of a workload.
func images(o object) map[string]string {
	m := map[string]string{}
	for _, c := range o.Spec.Template.Spec.Containers {
		m[c.Name] = c.Image
	}
	return m
}

// TestProfiles: profiles of examples/marvel and of the reference
// devloop.yaml render what they promise. No cluster is contacted.
func TestProfiles(t *testing.T) {
	root := testenv.RepoRoot(t)
	marvel := filepath.Join(root, "examples", "marvel", "devloop.yaml")

	t.Run("render -p prod shows the prod overlay with registry references", func(t *testing.T) {
		dev := devloop(t, root, noCluster(t), time.Minute, "render", "-f", marvel)
		prod := devloop(t, root, noCluster(t), time.Minute, "render", "-f", marvel, "-p", "prod")
		for _, r := range []result{dev, prod} {
			if r.Code != 0 {
				t.Fatalf("devloop render exited %d:\n%s", r.Code, tail(r.Output(), 20))
			}
		}
		d, p := parseManifests(t, dev.Stdout), parseManifests(t, prod.Stdout)
		for _, w := range []string{"Deployment/marvel-frontend", "StatefulSet/mongo"} {
			if o, ok := p[w]; !ok || o.Spec.Replicas == nil || *o.Spec.Replicas != 3 {
				t.Errorf("prod %s: want replicas 3, got %+v", w, o.Spec.Replicas)
			}
			if o := d[w]; o.Spec.Replicas != nil && *o.Spec.Replicas == 3 {
				t.Errorf("dev %s has the prod replicas already: the test proves nothing", w)
			}
		}
		if lim := p["StatefulSet/mongo"].Spec.Template.Spec.Containers; len(lim) == 0 || lim[0].Resources.Limits["memory"] != "2Gi" {
			t.Errorf("prod mongo: want the overlay's memory limit 2Gi, got %+v", lim)
		}
		for _, c := range []struct{ obj, container, image string }{
			{"Deployment/marvel-frontend", "frontend", "marvel-frontend"},
			{"Job/marvel-init-db", "init-db", "marvel-init-db"},
		} {
			pi, di := images(p[c.obj])[c.container], images(d[c.obj])[c.container]
			re := regexp.MustCompile(`^registry\.example\.com/marvel/` + c.image + `:[0-9a-f]{12,}$|^registry\.example\.com/marvel/` + c.image + `@sha256:[0-9a-f]{64}$`)
			if !re.MatchString(pi) {
				t.Errorf("prod %s image %q: want registry.example.com/marvel/%s with a content tag", c.obj, pi, c.image)
			}
			if !regexp.MustCompile(`^` + c.image + `:[0-9a-f]{12,}$`).MatchString(di) {
				t.Errorf("dev %s image %q: want %s:<content tag>, no registry", c.obj, di, c.image)
			}
			// The platforms (linux/amd64,linux/arm64 in prod) enter the tag.
			if tagOf(pi) == tagOf(di) {
				t.Errorf("prod and dev images of %s share the tag %s although their platforms differ", c.image, tagOf(pi))
			}
		}
	})

	t.Run("an unknown profile exits 2 listing the known ones", func(t *testing.T) {
		for _, cmd := range [][]string{{"render"}, {"config"}, {"run"}, {"build"}} {
			args := append(append([]string{}, cmd...), "-f", marvel, "-p", "staging")
			r := devloop(t, root, noCluster(t), time.Minute, args...)
			if r.Code != 2 || !strings.Contains(r.Output(), `"staging"`) || !strings.Contains(r.Output(), "prod") {
				t.Errorf("devloop %s: exit %d, want 2 naming \"staging\" and the known profile prod:\n%s",
					strings.Join(args, " "), r.Code, tail(r.Output(), 10))
			}
		}
	})

	t.Run("config -p prod prints provenance naming the profile", func(t *testing.T) {
		r := devloop(t, root, noCluster(t), time.Minute, "config", "-f", marvel, "-p", "prod")
		if r.Code != 0 {
			t.Fatalf("devloop config exited %d:\n%s", r.Code, tail(r.Output(), 20))
		}
		for _, want := range []string{
			`(?m)^# active profile prod: selected with --profile`,
			`(?m)^    path: k8s/overlays/prod # profile prod at .*devloop\.yaml:\d+:\d+$`,
			`(?m)^  platforms: \[linux/amd64, linux/arm64\] # profile prod at .*devloop\.yaml:\d+:\d+$`,
			`(?m)^registry: registry\.example\.com/marvel # profile prod at .*devloop\.yaml:\d+:\d+$`,
			`(?m)^  name: marvel # .*devloop\.yaml:\d+:\d+$`,
		} {
			if !regexp.MustCompile(want).MatchString(r.Stdout) {
				t.Errorf("devloop config -p prod: no line matching %q in:\n%s", want, r.Stdout)
			}
		}
		// The output is itself a configuration devloop accepts.
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(r.Stdout), &doc); err != nil || doc["registry"] != "registry.example.com/marvel" {
			t.Errorf("devloop config output is not the effective YAML (%v): %v", err, doc["registry"])
		}
	})

	t.Run("the reference devloop.yaml renders", func(t *testing.T) {
		for _, args := range [][]string{
			{"render", "-f", "devloop.yaml"},
			{"render", "-f", "devloop.yaml", "-p", "prod"},
			{"config", "-f", "devloop.yaml"},
		} {
			r := devloop(t, root, noCluster(t), time.Minute, args...)
			if r.Code != 0 {
				t.Errorf("devloop %s exited %d (the reference configuration went stale?):\n%s",
					strings.Join(args, " "), r.Code, tail(r.Output(), 20))
			}
			if args[0] == "render" && !strings.Contains(r.Stdout, "kind: Deployment") {
				t.Errorf("devloop %s rendered no Deployment:\n%s", strings.Join(args, " "), tail(r.Stdout, 20))
			}
		}
	})

	t.Run("a profile activated by the kube context is named", func(t *testing.T) {
		// The reference devloop.yaml activates prod on contexts matching
		// prod-.*; render reads the context from the kubeconfig only.
		kc := filepath.Join(t.TempDir(), "kubeconfig")
		if err := os.WriteFile(kc, []byte(prodKubeconfig), 0o600); err != nil {
			t.Fatal(err)
		}
		r := devloop(t, root, []string{"KUBECONFIG=" + kc, "DOCKER_HOST=unix:///nonexistent.sock"}, time.Minute,
			"render", "-f", "devloop.yaml")
		if r.Code != 0 {
			t.Fatalf("devloop render exited %d:\n%s", r.Code, tail(r.Output(), 20))
		}
		if !strings.Contains(r.Stdout, "image: registry.example.com/marvel/marvel-frontend:") {
			t.Errorf("the prod profile was not applied on context prod-eu:\n%s", tail(r.Stdout, 20))
		}
		if !regexp.MustCompile(`profile prod active: .*prod-eu`).MatchString(r.Stderr) {
			t.Errorf("render applied a profile activated by the context without saying so; stderr:\n%s", r.Stderr)
		}
		if bytes.Contains([]byte(r.Stdout), []byte("profile prod active")) {
			t.Errorf("the notice went to stdout, which must stay YAML")
		}
	})
}

// tagOf returns what follows the last ':' of an image reference.
func tagOf(ref string) string {
	return ref[strings.LastIndex(ref, ":")+1:]
}
