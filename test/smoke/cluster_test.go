package smoke

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// clusterApp is a tiny HTTP server: / answers with the pod's name, /fetch
// fetches another URL from inside the pod (Service and pod DNS), /write and
// /read keep a value in $DATA_DIR (persistent volumes).
const clusterApp = `package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

func main() {
	host, _ := os.Hostname()
	client := &http.Client{Timeout: 5 * time.Second}
	file := filepath.Join(os.Getenv("DATA_DIR"), "data.txt")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	http.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		resp, err := client.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	})
	http.HandleFunc("/write", func(w http.ResponseWriter, r *http.Request) {
		if err := os.WriteFile(file, []byte(r.URL.Query().Get("v")), 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	http.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	fmt.Printf("smoke app %s listening on :8080\n", host)
	if err := http.ListenAndServe(":8080", nil); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}
`

const clusterDockerfile = `FROM golang:1.26 AS build
WORKDIR /src
COPY main.go .
RUN CGO_ENABLED=0 GOTOOLCHAIN=local go build -o /app main.go
FROM scratch
COPY --from=build /app /app
ENTRYPOINT ["/app"]
`

// clusterRun runs a command against the environment and returns its
// combined output; the test fails when the command fails.
func clusterRun(t *testing.T, env *testenv.Env, stdin io.Reader, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := env.Command(ctx, name, args...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// clusterImage builds the app with the Docker engine (FROM golang:1.26, then
// scratch) and imports it into the cluster's containerd. It returns the
// image reference, removed from both when the test ends.
func clusterImage(t *testing.T, env *testenv.Env) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	ref := "devloop-smoke/cluster-app-" + hex.EncodeToString(b) + ":smoke"
	dir := t.TempDir()
	for name, body := range map[string]string{"main.go": clusterApp, "Dockerfile": clusterDockerfile} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_ = env.Command(context.Background(), "docker", "image", "rm", "-f", ref).Run()
		_ = env.Command(context.Background(), "ctr", "--address", env.ContainerdSocket, "-n", "k8s.io",
			"images", "rm", "docker.io/"+ref).Run()
	})
	clusterRun(t, env, nil, "docker", "buildx", "build", "--builder", "default", "--load", "-t", ref, dir)

	save := env.Command(context.Background(), "docker", "save", ref)
	tarball, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := save.Start(); err != nil {
		t.Fatalf("docker save: %v", err)
	}
	clusterRun(t, env, tarball, "ctr", "--address", env.ContainerdSocket, "-n", "k8s.io", "images", "import", "-")
	if err := save.Wait(); err != nil {
		t.Fatalf("docker save: %v", err)
	}
	return ref
}

// apply creates the objects of a manifest in the namespace.
func apply(t *testing.T, env *testenv.Env, ns, manifest string) {
	t.Helper()
	clusterRun(t, env, strings.NewReader(manifest), "kubectl", "-n", ns, "apply", "-f", "-")
}

// portForward forwards a free local port to port of target (e.g. pod/x) for
// the rest of the test and returns the base URL.
func portForward(t *testing.T, env *testenv.Env, ns, target string, port int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := env.Command(ctx, "kubectl", "-n", ns, "port-forward", "--address", "127.0.0.1", target, fmt.Sprintf("0:%d", port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("kubectl port-forward: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	re := regexp.MustCompile(`Forwarding from 127\.0\.0\.1:(\d+) ->`)
	found := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				p, _ := strconv.Atoi(m[1])
				found <- p
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case p := <-found:
		return fmt.Sprintf("http://127.0.0.1:%d", p)
	case <-time.After(30 * time.Second):
		t.Fatalf("kubectl port-forward %s: no forwarding after 30s: %s", target, stderr.String())
	}
	return ""
}

// get fetches a URL, retrying for up to a minute until it answers 200.
func get(t *testing.T, u string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	var last string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		resp, err := client.Get(u)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return string(b)
			}
			last = fmt.Sprintf("%s: %s", resp.Status, b)
		} else {
			last = err.Error()
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("GET %s: %s", u, last)
	return ""
}

func rollout(t *testing.T, env *testenv.Env, ns, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := env.Command(ctx, "kubectl", "-n", ns, "rollout", "status", what, "--timeout=180s").CombinedOutput()
	if err != nil {
		desc, _ := env.Command(context.Background(), "kubectl", "-n", ns, "describe", "pods").CombinedOutput()
		t.Fatalf("rollout of %s: %v\n%s\n%s", what, err, out, desc)
	}
}

func deployment(name, image string, replicas int) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[3]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
      - name: app
        image: %[2]s
        imagePullPolicy: Never
        ports: [{containerPort: 8080}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
`, name, image, replicas)
}

func TestCluster(t *testing.T) {
	env := testenv.Require(t)
	if env.ContainerdSocket == "" {
		t.Fatal("DEVLOOP_CONTAINERD_SOCK is not set")
	}
	node := clusterRun(t, env, nil, "kubectl", "get", "nodes", "-l", "devloop.dev/cluster", "-o",
		`jsonpath={.items[0].metadata.annotations.devloop\.dev/containerd-address}`)
	if node != "unix://"+env.ContainerdSocket {
		t.Fatalf("node annotation devloop.dev/containerd-address = %q, want unix://%s", node, env.ContainerdSocket)
	}
	image := clusterImage(t, env)

	// A Deployment of an image built here runs; its logs are read and a
	// port-forward returns its HTTP answer.
	t.Run("DeploymentLogsPortForward", func(t *testing.T) {
		t.Parallel()
		ns := env.Namespace(t, "smoke-deploy")
		apply(t, env, ns, deployment("web", image, 1))
		rollout(t, env, ns, "deployment/web")
		logs := clusterRun(t, env, nil, "kubectl", "-n", ns, "logs", "deployment/web")
		if !strings.Contains(logs, "listening on :8080") {
			t.Errorf("logs of deployment/web = %q, want the app's start line", logs)
		}
		base := portForward(t, env, ns, "deployment/web", 8080)
		if got := get(t, base+"/"); !strings.HasPrefix(got, "hello from web-") {
			t.Errorf("answer through port-forward = %q, want hello from web-...", got)
		}
	})

	// A pod reaches another through a Service by its DNS names, and a
	// StatefulSet pod by its name under the headless Service.
	t.Run("ServiceDNS", func(t *testing.T) {
		t.Parallel()
		ns := env.Namespace(t, "smoke-dns")
		apply(t, env, ns, deployment("server", image, 1)+"---\n"+deployment("client", image, 1)+fmt.Sprintf(`---
apiVersion: v1
kind: Service
metadata: {name: server}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: store}
spec:
  clusterIP: None
  selector: {app: store}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: store}
spec:
  serviceName: store
  replicas: 1
  selector: {matchLabels: {app: store}}
  template:
    metadata: {labels: {app: store}}
    spec:
      containers:
      - name: app
        image: %s
        imagePullPolicy: Never
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
`, image))
		rollout(t, env, ns, "deployment/server")
		rollout(t, env, ns, "deployment/client")
		rollout(t, env, ns, "statefulset/store")
		client := portForward(t, env, ns, "deployment/client", 8080)
		for target, want := range map[string]string{
			"http://server." + ns + ".svc.cluster.local/": "hello from server-",
			"http://server/":             "hello from server-",
			"http://store-0.store:8080/": "hello from store-0",
			"http://store-0.store." + ns + ".svc.cluster.local:8080/": "hello from store-0",
		} {
			got := get(t, client+"/fetch?url="+url.QueryEscape(target))
			if !strings.HasPrefix(got, want) {
				t.Errorf("client fetching %s got %q, want %s...", target, got, want)
			}
		}
	})

	// A StatefulSet's claim binds and what the pod wrote survives its deletion.
	t.Run("StatefulSetVolume", func(t *testing.T) {
		t.Parallel()
		ns := env.Namespace(t, "smoke-pvc")
		apply(t, env, ns, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: app
        image: %s
        imagePullPolicy: Never
        env: [{name: DATA_DIR, value: /data}]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 64Mi}}
`, image))
		rollout(t, env, ns, "statefulset/db")
		if phase := clusterRun(t, env, nil, "kubectl", "-n", ns, "get", "pvc", "data-db-0", "-o", "jsonpath={.status.phase}"); phase != "Bound" {
			t.Fatalf("claim data-db-0 is %q, want Bound", phase)
		}
		value := "kept-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		func() {
			base := portForward(t, env, ns, "pod/db-0", 8080)
			get(t, base+"/write?v="+value)
			if got := get(t, base+"/read"); got != value {
				t.Fatalf("read back %q, want %q", got, value)
			}
		}()
		oldUID := clusterRun(t, env, nil, "kubectl", "-n", ns, "get", "pod", "db-0", "-o", "jsonpath={.metadata.uid}")
		clusterRun(t, env, nil, "kubectl", "-n", ns, "delete", "pod", "db-0", "--wait=true", "--timeout=120s")
		deadline := time.Now().Add(3 * time.Minute)
		for {
			out, _ := env.Command(context.Background(), "kubectl", "-n", ns, "get", "pod", "db-0", "-o",
				`jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}`).Output()
			f := strings.Fields(string(out))
			if len(f) == 2 && f[0] != oldUID && f[1] == "True" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("db-0 not recreated and Ready after 3m (last: %q)", out)
			}
			time.Sleep(time.Second)
		}
		base := portForward(t, env, ns, "pod/db-0", 8080)
		if got := get(t, base+"/read"); got != value {
			t.Errorf("after the pod's deletion the volume holds %q, want %q", got, value)
		}
	})
}

// The cluster's containerd pulls docker.io names through the local registry.
func TestClusterRegistryMirror(t *testing.T) {
	env := testenv.Require(t)
	ns := env.Namespace(t, "smoke-mirror")
	image := clusterImage(t, env)
	// Only the registry has this tag: the pod must pull it as a docker.io name.
	name := strings.TrimSuffix(image, ":smoke")
	pushed := env.Registry + "/" + name + ":mirror"
	clusterRun(t, env, nil, "docker", "tag", image, pushed)
	t.Cleanup(func() { _ = env.Command(context.Background(), "docker", "image", "rm", "-f", pushed).Run() })
	clusterRun(t, env, nil, "docker", "push", pushed)
	t.Cleanup(func() {
		_ = exec.Command("ctr", "--address", env.ContainerdSocket, "-n", "k8s.io", "images", "rm", "docker.io/"+name+":mirror").Run()
	})
	apply(t, env, ns, strings.Replace(deployment("pulled", name+":mirror", 1), "imagePullPolicy: Never", "imagePullPolicy: Always", 1))
	rollout(t, env, ns, "deployment/pulled")
}
