package build

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// probeTimeout bounds each step of probe.
const probeTimeout = 3 * time.Second

// probe says why a tcp:// endpoint of a builder does not answer, which
// buildx only reports as a deadline: nothing listening, no TLS answer, or
// the TLS handshake's own error with the builder's cacert, cert and key
// (from `buildx inspect`'s driver options). It returns "" when it finds
// nothing wrong or the endpoint is not tcp://.
func probe(endpoint string, opts map[string]string) string {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "tcp" || u.Host == "" {
		return ""
	}
	conn, err := net.DialTimeout("tcp", u.Host, probeTimeout)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && strings.Contains(err.Error(), "refused") {
			return "nothing listens on " + u.Host + " (connection refused)"
		}
		return fmt.Sprintf("%s cannot be reached: %v", u.Host, err)
	}
	defer conn.Close()
	if opts["cacert"] == "" && opts["cert"] == "" {
		return ""
	}
	cfg := &tls.Config{ServerName: opts["servername"], MinVersion: tls.VersionTLS12}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	if ca := opts["cacert"]; ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return fmt.Sprintf("TLS: reading cacert: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(pem)
	}
	if opts["cert"] != "" || opts["key"] != "" {
		pair, err := tls.LoadX509KeyPair(opts["cert"], opts["key"])
		if err != nil {
			return fmt.Sprintf("TLS: loading the client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	_ = conn.SetDeadline(time.Now().Add(probeTimeout))
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return "TLS: " + tlsReason(err)
	}
	// With TLS 1.3 the server's refusal of the client certificate arrives
	// after the handshake, on the first read.
	var b [1]byte
	if _, err := tc.Read(b[:]); err != nil && !isTimeout(err) {
		return "TLS: " + tlsReason(err)
	}
	return ""
}

func tlsReason(err error) string {
	if isTimeout(err) {
		return "no TLS answer within " + probeTimeout.String() + " (a server that does not speak TLS, or does not answer)"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// parseDriverOpts reads `Driver Options: k="v" k2="v2"` of buildx inspect.
func parseDriverOpts(line string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if ok {
			out[k] = strings.Trim(v, `"`)
		}
	}
	return out
}
