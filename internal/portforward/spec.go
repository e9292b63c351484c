// Package portforward forwards a stable local port to the newest Ready pod
// behind a Kubernetes resource, following redeploys and pod restarts through
// client-go's SPDY port-forward streams, in process.
//
// Design: the Forwarder owns its listener and speaks the port-forward
// protocol itself over one SPDY connection per pod (an error and a data
// stream per accepted local connection, as client-go's PortForwarder does).
// Wrapping client-go's PortForwarder instead would bind a listener per pod
// and need a second local hop to keep the user's port stable; owning the
// listener keeps one socket for the forward's whole life, lets connections
// accepted while no pod is Ready wait instead of being refused, and lets a
// broken API server connection be re-dialed per connection.
package portforward

import (
	"fmt"
	"strings"
)

// Spec describes one port-forward.
type Spec struct {
	// Namespace of the resource.
	Namespace string
	// Resource is KIND/NAME with KIND one of service (svc), deployment
	// (deploy), statefulset (sts) or pod.
	Resource string
	// Port is the service port for a service, the container port otherwise.
	Port int
	// LocalPort is the local port; 0 means the same as Port.
	LocalPort int
	// Address is the local address to listen on; default 127.0.0.1.
	Address string
}

// Kinds of resources a Spec can name.
const (
	KindService     = "service"
	KindDeployment  = "deployment"
	KindStatefulSet = "statefulset"
	KindPod         = "pod"
)

// parseResource splits KIND/NAME and normalizes the kind.
func parseResource(r string) (kind, name string, err error) {
	k, n, ok := strings.Cut(r, "/")
	if !ok || n == "" || strings.Contains(n, "/") {
		return "", "", fmt.Errorf("resource %q: want KIND/NAME (service/web, deployment/web, statefulset/db, pod/web-0)", r)
	}
	switch strings.ToLower(k) {
	case "service", "services", "svc":
		return KindService, n, nil
	case "deployment", "deployments", "deploy":
		return KindDeployment, n, nil
	case "statefulset", "statefulsets", "sts":
		return KindStatefulSet, n, nil
	case "pod", "pods", "po":
		return KindPod, n, nil
	}
	return "", "", fmt.Errorf("resource %q: kind %q is not one of service, deployment, statefulset, pod", r, k)
}

// withDefaults validates s and fills its defaults.
func (s Spec) withDefaults() (Spec, error) {
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	if s.Address == "" {
		s.Address = "127.0.0.1"
	}
	if s.Port <= 0 || s.Port > 65535 {
		return s, fmt.Errorf("port-forward %s: port %d out of range", s.Resource, s.Port)
	}
	if s.LocalPort == 0 {
		s.LocalPort = s.Port
	}
	if s.LocalPort < 0 || s.LocalPort > 65535 {
		return s, fmt.Errorf("port-forward %s: local port %d out of range", s.Resource, s.LocalPort)
	}
	if _, _, err := parseResource(s.Resource); err != nil {
		return s, fmt.Errorf("port-forward: %w", err)
	}
	return s, nil
}
