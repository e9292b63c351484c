package runtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// authRegistry starts Distribution's registry (Debian's docker-registry) on
// 127.0.0.1 on a free port, over plain HTTP (Docker treats loopback
// registries as insecure), with htpasswd basic auth for user:password, and
// stops it when the test ends. It returns the registry's host:port.
func authRegistry(t *testing.T, user, password string) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Fatalf("docker-registry (Debian's Distribution registry, installed by make env-up) is not on PATH: %v", err)
	}
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "htpasswd", user+":"+string(hash)+"\n")
	host := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	writeFile(t, dir, "config.yml", fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
auth:
  htpasswd:
    realm: devloop-test
    path: %s
`, filepath.Join(dir, "data"), host, filepath.Join(dir, "htpasswd")))
	cmd := exec.Command(bin, "serve", filepath.Join(dir, "config.yml"))
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logf.Close()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusUnauthorized {
				return host
			}
			t.Fatalf("the registry on %s answered /v2/ without credentials with %s; want 401", host, resp.Status)
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("the registry on %s did not answer within 30s: %v\n%s", host, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// loginConfig returns a DOCKER_CONFIG directory of the test's own, without
// logins, that has the environment's buildx plugin and builders.
func loginConfig(t *testing.T, env *testenv.Env) string {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"cli-plugins", "buildx"} {
		src := filepath.Join(env.DockerConfig, sub)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		if err := os.Symlink(src, filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, dir, "config.json", "{}\n")
	return dir
}

// TestRegistryLogin: devloop reads a registry that needs a login with the
// credentials `docker login` stored. On a registry with htpasswd auth (set
// as devloop.yaml's registry: images are pushed there and the cluster pulls
// them with an imagePullSecret), the first run builds and pushes; the
// second run of the unchanged project builds and pushes nothing (its
// presence check is answered with the login); after
// `docker logout` a run fails, exit non-zero, with an error that names the
// registry and says to log in, instead of building and pushing again.
func TestRegistryLogin(t *testing.T) {
	env := testenv.Require(t)
	const user, password = "alice", "devloop-test-password"
	host := authRegistry(t, user, password)
	cfgDir := loginConfig(t, env)
	dockerEnv := []string{"DOCKER_CONFIG=" + cfgDir}

	ns := env.Namespace(t, "reglogin")
	name := "rl-" + ns[len(ns)-5:]
	dir := t.TempDir()
	writeFile(t, dir, "devloop.yaml", "apiVersion: devloop.dev/v1alpha1\nkind: Config\nmetadata:\n  name: "+name+
		"\nregistry: "+host+
		"\nbuild:\n  artifacts:\n    - image: api\n      context: api\ndeploy:\n  kustomize:\n    path: k8s\n  imagePullSecrets: [auth-registry]\n  statusTimeout: 2m\n")
	writeFile(t, dir, "api/Dockerfile", "FROM debian:bookworm-slim\nCOPY marker /marker\nCMD [\"sleep\", \"infinity\"]\n")
	writeFile(t, dir, "api/marker", ns+"\n")
	writeFile(t, dir, "k8s/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: "+ns+
		"\nresources:\n  - deployment.yaml\n")
	writeFile(t, dir, "k8s/deployment.yaml", `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
        - name: api
          image: api
`)
	t.Cleanup(func() { _ = devloop(t, dir, dockerEnv, 2*time.Minute, "delete") })
	env.Kubectl(t, "-n", ns, "create", "secret", "docker-registry", "auth-registry",
		"--docker-server="+host, "--docker-username="+user, "--docker-password="+password)

	login := env.Command(context.Background(), "docker", "login", "-u", user, "--password-stdin", host)
	login.Env = append(login.Env, dockerEnv...)
	login.Stdin = strings.NewReader(password)
	testenv.MustRun(t, login)
	if b, err := os.ReadFile(filepath.Join(cfgDir, "config.json")); err != nil || !strings.Contains(string(b), host) {
		t.Fatalf("docker login stored no credentials for %s in %s: %v\n%s", host, cfgDir, err, b)
	}

	first := devloop(t, dir, dockerEnv, 10*time.Minute, "run", "-o", "json")
	evs := parseEvents(t, first.Stdout)
	if first.Code != 0 {
		t.Fatalf("first run (logged in) exited %d:%s\n%s", first.Code, dump(evs), tail(first.Stderr, 30))
	}
	if got := buildStatus(evs)["api"]; got != "done" {
		t.Fatalf("first run: build of api %q, want done (built and pushed):%s", got, dump(evs))
	}
	if done := filter(evs, "build", "done"); !strings.Contains(done[0].Message, "built and pushed "+host+"/api:") {
		t.Errorf("first run's build: %q, want a push to %s", done[0].Message, host)
	}

	second := devloop(t, dir, dockerEnv, 5*time.Minute, "run", "-o", "json")
	evs = parseEvents(t, second.Stdout)
	if second.Code != 0 {
		t.Fatalf("second run (logged in) exited %d:%s\n%s", second.Code, dump(evs), tail(second.Stderr, 30))
	}
	skipped := filter(evs, "build", "skipped")
	if got := buildStatus(evs)["api"]; got != "skipped" || len(skipped) != 1 || !strings.Contains(skipped[0].Message, "is already in the registry") {
		t.Fatalf("second run of the unchanged project: build of api %q, want skipped as already in the registry:%s", got, dump(evs))
	}
	if done := filter(evs, "build", "done"); len(done) != 0 {
		t.Fatalf("second run built (and pushed) again:%s", dump(done))
	}
	t.Logf("second run: %s", skipped[0].Message)
	if !strings.Contains(strings.Join(strings.Fields(env.Kubectl(t, "-n", ns, "get", "deployment", "api",
		"-o", "jsonpath={.spec.template.spec.containers[0].image}")), ""), host+"/api@sha256:") {
		t.Errorf("the Deployment does not run the pushed digest from %s", host)
	}

	logout := env.Command(context.Background(), "docker", "logout", host)
	logout.Env = append(logout.Env, dockerEnv...)
	testenv.MustRun(t, logout)
	third := devloop(t, dir, dockerEnv, 5*time.Minute, "run", "-o", "json")
	evs = parseEvents(t, third.Stdout)
	if third.Code == 0 {
		t.Fatalf("a run without a login exited 0:%s", dump(evs))
	}
	want := "registry " + host + " refused devloop's read of " + host + "/api:"
	hint := "(401 Unauthorized): log in with docker login " + host
	if !strings.Contains(third.Stderr, want) || !strings.Contains(third.Stderr, hint) {
		t.Errorf("a run without a login (exit %d) said:\n%s\nwant %q … %q", third.Code, tail(third.Stderr, 20), want, hint)
	}
	t.Logf("a run without a login (exit %d): %s", third.Code, strings.TrimSpace(tail(third.Stderr, 3)))
	if got := buildStatus(evs)["api"]; got != "failed" {
		t.Errorf("a run without a login: build of api %q, want failed (not a rebuild):%s", got, dump(evs))
	}
	if done := filter(evs, "build", "done"); len(done) != 0 {
		t.Errorf("a run without a login built again:%s", dump(done))
	}
}
