package kube

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
)

// NotAllowedError refuses a deploy to a cluster that is not known to be local
// and not explicitly allowed. It is a usage error (exit code 2), returned
// before anything is built.
type NotAllowedError struct {
	Context string
	Server  string
	// Reason says why the context is not local when its name alone would
	// suggest it is.
	Reason string
}

func (e *NotAllowedError) Error() string {
	why := "does not look like a local cluster"
	if e.Reason != "" {
		why = e.Reason
	}
	return fmt.Sprintf("kube context %q (%s) %s; devloop deploys only to local clusters "+
		"(kind, k3d, k3s, minikube, Docker Desktop, an API server on this machine or on one of its container or VM networks) "+
		"unless the context is allowed: add it to allowContexts in devloop.yaml or pass --allow-context %s", e.Context, e.Server, why, e.Context)
}

// localContextPrefixes are context names that local cluster tools write.
var localContextPrefixes = []string{"kind-", "k3d-", "minikube", "docker-desktop", "docker-for-desktop", "rancher-desktop", "colima", "orbstack", "microk8s"}

// localHostNames are names that mean this machine: Docker Desktop writes
// kubernetes.docker.internal and host.docker.internal into its hosts file
// (".internal" is reserved for private use and never public DNS).
var localHostNames = []string{"localhost", "kubernetes.docker.internal", "host.docker.internal"}

// isLocal reports whether a context is a local cluster, and why, given this
// machine's network interfaces. The rule:
//
//   - its API server is this machine: a loopback or unspecified address
//     (0.0.0.0, which k3d writes), localhost or *.localhost, Docker Desktop's
//     kubernetes.docker.internal or host.docker.internal, or an address of
//     one of this machine's interfaces; whatever the context's name;
//   - or its name is one that kind, k3d, minikube, Docker Desktop and
//     friends write AND its API server is an IP address on a container or VM
//     network of this machine: inside the subnet of a Docker or Podman bridge
//     (docker0, br-*, podman*, cni-*), a libvirt, VirtualBox or macOS vmnet
//     network (virbr*, vboxnet*, vmnet*, bridge*). A context so named whose
//     server is anything else (a LAN or VPN address, a host name) is not
//     local: a name proves nothing.
//
// Nothing is contacted and no name is resolved.
func isLocal(context, server string, ifaces []Interface) (bool, string) {
	host := ""
	if u, err := url.Parse(server); err == nil {
		host = u.Hostname()
	}
	lower := strings.ToLower(host)
	if slices.Contains(localHostNames, lower) || strings.HasSuffix(lower, ".localhost") {
		return true, "API server " + host + " is on this machine"
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
	case ip.IsLoopback():
		return true, "API server " + host + " is a loopback address"
	case ip.IsUnspecified():
		return true, "API server " + host + " is this machine (the unspecified address)"
	default:
		for _, i := range ifaces {
			for _, n := range i.Nets {
				if n.IP.Equal(ip) {
					return true, "API server " + host + " is an address of this machine (" + i.Name + ")"
				}
			}
		}
	}
	if !localToolName(context) {
		return false, ""
	}
	if ip != nil {
		for _, i := range ifaces {
			if !containerNetwork(i.Name) {
				continue
			}
			for _, n := range i.Nets {
				if n.Contains(ip) {
					return true, "context " + context + " is a local cluster tool's and its API server " + host +
						" is on this machine's container network " + i.Name + " (" + n.String() + ")"
				}
			}
		}
	}
	return false, "is named like a local cluster tool's, but its API server " + serverHost(host, server) +
		" is neither a loopback address nor an address of this machine or of one of its container or VM networks"
}

func localToolName(context string) bool {
	for _, p := range localContextPrefixes {
		if strings.HasPrefix(context, p) {
			return true
		}
	}
	return false
}

func serverHost(host, server string) string {
	if host == "" {
		return fmt.Sprintf("%q", server)
	}
	return host
}

// CheckAllowed returns nil when devloop may deploy to the context: it is
// local, or listed in allowed. The reason says which.
func CheckAllowed(context, server string, allowed []string) (string, error) {
	return checkAllowed(context, server, allowed, Interfaces())
}

func checkAllowed(context, server string, allowed []string, ifaces []Interface) (string, error) {
	ok, why := isLocal(context, server, ifaces)
	if ok {
		return why, nil
	}
	if slices.Contains(allowed, context) {
		return "context " + context + " is in allowContexts", nil
	}
	return "", &NotAllowedError{Context: context, Server: server, Reason: why}
}
