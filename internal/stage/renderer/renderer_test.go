package renderer

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
)

func obj(kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

func TestCheckPortForwards(t *testing.T) {
	objs := []*unstructured.Unstructured{obj("Service", "notes", "web"), obj("StatefulSet", "notes", "store")}
	cfg := &config.Config{PortForward: []config.PortForward{{Resource: "service/web", Port: 80}, {Resource: "statefulset/store", Port: 9090}}}
	if err := CheckPortForwards(cfg, objs); err != nil {
		t.Fatalf("defined resources refused: %v", err)
	}
	cfg.PortForward = append(cfg.PortForward, config.PortForward{Resource: "deployment/web", Port: 80})
	err := CheckPortForwards(cfg, objs)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("want an InputError for deployment/web, got %v", err)
	}
	cfg.PortForward = []config.PortForward{{Resource: "service/web", Port: 80, Namespace: "other"}}
	if err := CheckPortForwards(cfg, objs); err == nil {
		t.Fatal("a forward to another namespace's service passed")
	}
}
