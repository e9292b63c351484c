package config

import (
	"fmt"
	"strings"
)

// The kinds of resources a port-forward may name, as devloop.yaml writes
// them (the KIND of portForward[].resource KIND/NAME).
const (
	ForwardService     = "service"
	ForwardDeployment  = "deployment"
	ForwardStatefulSet = "statefulset"
	ForwardPod         = "pod"
)

// ForwardKinds returns the kinds a port-forward may name.
func ForwardKinds() []string {
	return []string{ForwardService, ForwardDeployment, ForwardStatefulSet, ForwardPod}
}

// ParseForwardResource splits a port-forward's resource KIND/NAME, KIND one
// of ForwardKinds. It is the one parser of that syntax: validation, the
// pipeline's check against the manifests and the CLI's forwards use it.
func ParseForwardResource(r string) (kind, name string, err error) {
	kind, name, ok := strings.Cut(r, "/")
	if !ok || name == "" || strings.Contains(name, "/") || ObjectKind(kind) == "" {
		return "", "", fmt.Errorf("%q is not a resource; expected KIND/NAME with KIND one of %s", r, strings.Join(ForwardKinds(), ", "))
	}
	return kind, name, nil
}

// ObjectKind returns the Kubernetes kind of a forward kind ("Service" for
// "service"), or "" for a kind a port-forward may not name.
func ObjectKind(kind string) string {
	switch kind {
	case ForwardService:
		return "Service"
	case ForwardDeployment:
		return "Deployment"
	case ForwardStatefulSet:
		return "StatefulSet"
	case ForwardPod:
		return "Pod"
	}
	return ""
}

// splitResource is ParseForwardResource for a validated config: KIND and
// NAME, empty when r does not parse.
func splitResource(r string) (kind, name string) {
	kind, name, _ = ParseForwardResource(r)
	return kind, name
}
