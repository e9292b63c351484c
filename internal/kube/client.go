// Package kube builds the Kubernetes clients devloop uses from the user's
// kubeconfig, and decides whether a cluster is local enough to deploy to
// without being told.
package kube

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// UserAgent is the user agent of devloop's requests to the API server.
const UserAgent = "devloop/v1 (+https://github.com/devloop-dev/devloop)"

// Client bundles the clients for one kube context.
type Client struct {
	Context   string // the kube context in use
	Server    string // the API server URL
	Namespace string // the context's default namespace ("default" if unset)
	Config    *rest.Config
	Clientset kubernetes.Interface
	Dynamic   dynamic.Interface
	Mapper    meta.ResettableRESTMapper
}

// ContextError says the requested kube context does not exist; it is a usage
// error (exit code 2).
type ContextError struct {
	Context string
	Known   []string
}

func (e *ContextError) Error() string {
	if e.Context == "" {
		return "no current kube context: set one with `kubectl config use-context` or pass --kube-context"
	}
	return fmt.Sprintf("kube context %q not found in the kubeconfig (known: %v)", e.Context, e.Known)
}

// Resolve reads the kubeconfig (KUBECONFIG or ~/.kube/config) and returns the
// context name and server URL that contextOverride (or the current context)
// selects, without contacting the cluster.
func Resolve(contextOverride string) (context, server, namespace string, err error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	raw, err := rules.Load()
	if err != nil {
		return "", "", "", fmt.Errorf("reading kubeconfig: %w", err)
	}
	context = contextOverride
	if context == "" {
		context = raw.CurrentContext
	}
	kc, ok := raw.Contexts[context]
	if !ok {
		known := make([]string, 0, len(raw.Contexts))
		for name := range raw.Contexts {
			known = append(known, name)
		}
		return "", "", "", &ContextError{Context: context, Known: known}
	}
	if cl, ok := raw.Clusters[kc.Cluster]; ok {
		server = cl.Server
	}
	namespace = kc.Namespace
	if namespace == "" {
		namespace = "default"
	}
	return context, server, namespace, nil
}

// New returns clients for the context (empty: the current context). It does
// not contact the cluster; discovery happens lazily through Mapper.
func New(contextOverride string) (*Client, error) {
	context, server, namespace, err := Resolve(contextOverride)
	if err != nil {
		return nil, err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kube context %s: %w", context, err)
	}
	// devloop issues bursts of small requests (apply, status polls, watches).
	cfg.QPS = 100
	cfg.Burst = 200
	// One name in the API server's audit log and request metrics, whatever
	// the binary is called.
	cfg.UserAgent = UserAgent
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube dynamic client: %w", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kube discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	return &Client{
		Context: context, Server: server, Namespace: namespace,
		Config: cfg, Clientset: cs, Dynamic: dyn, Mapper: mapper,
	}, nil
}
