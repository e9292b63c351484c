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

import "fmt"

// Spec describes one port-forward.
type Spec struct {
	// Namespace of the resource.
	Namespace string
	// Kind is the kind of the resource: one of the Kind constants.
	Kind string
	// Name is the resource's name.
	Name string
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

// resource is KIND/NAME, for messages.
func (s Spec) resource() string { return s.Kind + "/" + s.Name }

// withDefaults validates s and fills its defaults.
func (s Spec) withDefaults() (Spec, error) {
	if s.Namespace == "" {
		s.Namespace = "default"
	}
	if s.Address == "" {
		s.Address = "127.0.0.1"
	}
	switch s.Kind {
	case KindService, KindDeployment, KindStatefulSet, KindPod:
	default:
		return s, fmt.Errorf("port-forward %s: kind %q is not one of service, deployment, statefulset, pod", s.resource(), s.Kind)
	}
	if s.Name == "" {
		return s, fmt.Errorf("port-forward %s: no resource name", s.resource())
	}
	if s.Port <= 0 || s.Port > 65535 {
		return s, fmt.Errorf("port-forward %s: port %d out of range", s.resource(), s.Port)
	}
	if s.LocalPort == 0 {
		s.LocalPort = s.Port
	}
	if s.LocalPort < 0 || s.LocalPort > 65535 {
		return s, fmt.Errorf("port-forward %s: local port %d out of range", s.resource(), s.LocalPort)
	}
	return s, nil
}
