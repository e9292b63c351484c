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
}

func (e *NotAllowedError) Error() string {
	return fmt.Sprintf("kube context %q (%s) does not look like a local cluster; devloop deploys only to local clusters "+
		"(kind, k3d, k3s, minikube, Docker Desktop, a loopback API server) unless the context is allowed: "+
		"add it to allowContexts in devloop.yaml or pass --allow-context %s", e.Context, e.Server, e.Context)
}

// localContextPrefixes are context names that local cluster tools write.
var localContextPrefixes = []string{"kind-", "k3d-", "minikube", "docker-desktop", "docker-for-desktop", "rancher-desktop", "colima", "orbstack", "microk8s"}

// IsLocal reports whether a context is a local cluster and why: its API
// server is on a loopback address or a name local tools use, or its context
// name is one that kind, k3d, minikube, Docker Desktop and friends write.
func IsLocal(context, server string) (bool, string) {
	if u, err := url.Parse(server); err == nil && u.Hostname() != "" {
		host := u.Hostname()
		if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "kubernetes.docker.internal" || host == "host.docker.internal" {
			return true, "API server " + host + " is on this machine"
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return true, "API server " + host + " is a loopback address"
		}
	}
	for _, p := range localContextPrefixes {
		if strings.HasPrefix(context, p) {
			return true, "context " + context + " is a local cluster tool's"
		}
	}
	return false, ""
}

// CheckAllowed returns nil when devloop may deploy to the context: it is
// local, or listed in allowed. The reason says which.
func CheckAllowed(context, server string, allowed []string) (string, error) {
	if ok, why := IsLocal(context, server); ok {
		return why, nil
	}
	if slices.Contains(allowed, context) {
		return "context " + context + " is in allowContexts", nil
	}
	return "", &NotAllowedError{Context: context, Server: server}
}
