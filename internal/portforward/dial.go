package portforward

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/rest"
	clientpf "k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// podDialer opens a port-forward connection to one pod.
type podDialer interface {
	Dial(ctx context.Context, namespace, pod string) (httpstream.Connection, error)
}

// spdyDialer opens SPDY port-forward connections through the API server.
type spdyDialer struct {
	host     *url.URL
	client   *http.Client
	upgrader spdy.Upgrader
}

func newSPDYDialer(cfg *rest.Config) (*spdyDialer, error) {
	rt, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("making the SPDY transport: %w", err)
	}
	host := cfg.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("parsing the API server address %q: %w", cfg.Host, err)
	}
	return &spdyDialer{host: u, client: &http.Client{Transport: rt}, upgrader: upgrader}, nil
}

// dialTimeout bounds connecting and upgrading; an established connection is
// not bound by it.
const dialTimeout = 10 * time.Second

func (d *spdyDialer) Dial(ctx context.Context, namespace, pod string) (httpstream.Connection, error) {
	u := *d.host
	u.Path = strings.TrimSuffix(u.Path, "/") + fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", namespace, pod)
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("making the port-forward request: %w", err)
	}
	conn, proto, err := spdy.Negotiate(d.upgrader, d.client, req, clientpf.PortForwardProtocolV1Name)
	if err != nil {
		return nil, fmt.Errorf("opening a port-forward to pod/%s: %w", pod, err)
	}
	if proto != clientpf.PortForwardProtocolV1Name {
		_ = conn.Close()
		return nil, fmt.Errorf("opening a port-forward to pod/%s: server chose protocol %q", pod, proto)
	}
	return conn, nil
}
