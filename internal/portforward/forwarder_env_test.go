package portforward

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
	"go.uber.org/zap/zaptest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const webManifest = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: %d
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: %s
        imagePullPolicy: IfNotPresent
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          httpGet: {path: /, port: http}
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`

func get(url string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

// answersFrom polls url until it answers from a pod other than not; it
// returns the answer and the time taken.
func answersFrom(t *testing.T, url, not string, within time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	var last string
	var lastErr error
	for time.Since(start) < within {
		got, err := get(url)
		if err == nil && strings.HasPrefix(got, "hello from ") && got != not {
			return got, time.Since(start)
		}
		last, lastErr = got, err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s gave no new answer within %v (last %q, %v)", url, within, last, lastErr)
	return "", 0
}

func TestEnvForwardFollowsPods(t *testing.T) {
	env := testenv.Require(t)
	cfg, client := env.Clients(t)
	img, _ := env.EchoImages(t)
	ns := env.Namespace(t, "pf")
	env.Apply(t, ns, fmt.Sprintf(webManifest, 2, img))
	env.Kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=120s")

	port := freePort(t)
	f, err := New(cfg, client, zaptest.NewLogger(t), Spec{Namespace: ns, Kind: KindService, Name: "web", Port: 80, LocalPort: port})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- f.Run(ctx, func(s State) {
			if s.Up && s.Down == 0 {
				urls <- s.URL
			}
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	var url string
	select {
	case url = <-urls:
	case <-time.After(30 * time.Second):
		t.Fatal("not serving after 30 s")
	}
	if url != "http://127.0.0.1:"+strconv.Itoa(port) {
		t.Fatalf("URL %q", url)
	}
	first, _ := answersFrom(t, url, "", 5*time.Second)
	t.Logf("serving: %s", first)

	// Two replicas: deleting the served pod moves to the other Ready one.
	pod := strings.TrimPrefix(first, "hello from ")
	start := time.Now()
	env.Kubectl(t, "-n", ns, "delete", "pod", pod, "--wait=false")
	second, _ := answersFrom(t, url, first, 10*time.Second)
	took := time.Since(start)
	t.Logf("TIMING pod deleted (2 replicas) -> answer from %s on the same port: %v", second, took)
	if took > 2*time.Second {
		t.Errorf("switching took %v, want <= 2s", took)
	}

	// One replica: the answer comes back once the replacement is Ready; the
	// forwarder's own part (Ready -> serving) must stay under 2 s.
	env.Kubectl(t, "-n", ns, "scale", "deployment/web", "--replicas=1")
	env.Kubectl(t, "-n", ns, "rollout", "status", "deployment/web", "--timeout=60s")
	time.Sleep(500 * time.Millisecond)
	cur, _ := answersFrom(t, url, "", 5*time.Second)
	pod = strings.TrimPrefix(cur, "hello from ")
	start = time.Now()
	env.Kubectl(t, "-n", ns, "delete", "pod", pod, "--wait=false")
	third, total := answersFrom(t, url, cur, 60*time.Second)
	newPod := strings.TrimPrefix(third, "hello from ")
	p, err := client.CoreV1().Pods(ns).Get(context.Background(), newPod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var readyAt time.Time
	for _, c := range p.Status.Conditions {
		if c.Type == "Ready" {
			readyAt = c.LastTransitionTime.Time
		}
	}
	servedAt := start.Add(total)
	t.Logf("TIMING pod deleted (1 replica) -> answer from %s: %v; replacement Ready -> served: %v (Ready time has 1 s precision)",
		newPod, total, servedAt.Sub(readyAt).Round(time.Millisecond))
	if servedAt.Sub(readyAt) > 2*time.Second+time.Second {
		t.Errorf("served %v after the new pod became Ready, want <= 2 s (+1 s timestamp precision)", servedAt.Sub(readyAt))
	}
}
