package portforward

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/httpstream"
	httpstreamspdy "k8s.io/apimachinery/pkg/util/httpstream/spdy"
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

// Liveness of an established connection: SPDY pings every pingPeriod, and
// (where the system has it, see sockopt_linux.go) the kernel drops a
// connection whose sent bytes stay unacknowledged for userTimeout, so that
// a connection whose network went away errors within a few seconds instead
// of looking alive for minutes (tilt #6653).
const (
	pingPeriod  = time.Second
	userTimeout = 3 * time.Second
)

func newSPDYDialer(cfg *rest.Config) (*spdyDialer, error) {
	host := cfg.Host
	if !strings.Contains(host, "://") {
		host = "https://" + host
	}
	u, err := url.Parse(host)
	if err != nil {
		return nil, fmt.Errorf("parsing the API server address %q: %w", cfg.Host, err)
	}
	rt, upgrader, err := roundTripperFor(cfg, u)
	if err != nil {
		return nil, fmt.Errorf("making the SPDY transport: %w", err)
	}
	return &spdyDialer{host: u, client: &http.Client{Transport: rt}, upgrader: upgrader}, nil
}

// roundTripperFor is client-go's spdy.RoundTripperFor with a dialer of our
// own (short ping period, TCP user timeout) when no proxy stands between
// devloop and the API server; through a proxy it is client-go's, as kubectl.
func roundTripperFor(cfg *rest.Config, host *url.URL) (http.RoundTripper, spdy.Upgrader, error) {
	if proxied(cfg, host) {
		return spdy.RoundTripperFor(cfg)
	}
	tlsConfig, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, nil, err
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: pingPeriod, Control: setUserTimeout(userTimeout)}
	upgrade, err := httpstreamspdy.NewRoundTripperWithConfig(httpstreamspdy.RoundTripperConfig{
		PingPeriod:       pingPeriod,
		UpgradeTransport: &http.Transport{TLSClientConfig: tlsConfig, DialContext: d.DialContext},
	})
	if err != nil {
		return nil, nil, err
	}
	wrapped, err := rest.HTTPWrappersForConfig(cfg, upgrade)
	if err != nil {
		return nil, nil, err
	}
	return wrapped, upgrade, nil
}

// proxied says whether requests to host would go through a proxy.
func proxied(cfg *rest.Config, host *url.URL) bool {
	proxy := http.ProxyFromEnvironment
	if cfg.Proxy != nil {
		proxy = cfg.Proxy
	}
	p, err := proxy(&http.Request{URL: host})
	return err != nil || p != nil
}

// dialTimeout bounds connecting and upgrading; an established connection is
// not bound by it.
const dialTimeout = 5 * time.Second

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
