package kube

import (
	"errors"
	"testing"
)

func TestCheckAllowed(t *testing.T) {
	cases := []struct {
		name, context, server string
		allowed               []string
		ok                    bool
	}{
		{"loopback v4", "devloop-env", "https://127.0.0.1:6443", nil, true},
		{"loopback v6", "x", "https://[::1]:6443", nil, true},
		{"localhost", "x", "https://localhost:6443", nil, true},
		{"kind", "kind-dev", "https://10.1.2.3:6443", nil, true},
		{"k3d", "k3d-mycluster", "https://0.0.0.0:41234", nil, true},
		{"docker desktop", "docker-desktop", "https://kubernetes.docker.internal:6443", nil, true},
		{"minikube", "minikube", "https://192.168.49.2:8443", nil, true},
		{"remote refused", "prod-eu", "https://prod.example.com", nil, false},
		{"remote allowed", "prod-eu", "https://prod.example.com", []string{"prod-eu"}, true},
		{"other allowed does not count", "prod-us", "https://prod.example.com", []string{"prod-eu"}, false},
		{"name tricks do not count", "my-kind-cluster", "https://10.0.0.1", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			why, err := CheckAllowed(c.context, c.server, c.allowed)
			if c.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.ok && why == "" {
				t.Fatal("allowed without a reason")
			}
			var na *NotAllowedError
			if !c.ok && !errors.As(err, &na) {
				t.Fatalf("want NotAllowedError, got %v", err)
			}
		})
	}
}
