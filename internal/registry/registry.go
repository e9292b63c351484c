// Package registry is devloop's one client for image registries: every
// manifest and config devloop reads from a registry (the presence checks
// that decide whether an image is built again, the layer sizes of a push,
// an image's command for the helper) and the credentials of the engine's
// pushes go through it.
//
// Credentials come from Docker's configuration as `docker login` writes it
// (config.json in $DOCKER_CONFIG, else ~/.docker, with its credential
// helpers and credsStore), the way ko and crane find them: what the user
// logged in with is what devloop reads with. A registry on a loopback
// address (127.0.0.1, localhost, ::1) is spoken to over plain HTTP, as the
// Docker Engine treats it as insecure by default. All requests share one
// HTTP transport and retry network flakes and 5xx answers.
package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	dockerregistry "github.com/docker/docker/api/types/registry"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"go.uber.org/zap"
)

// Client reads from registries with the user's credentials. Its methods
// are safe for concurrent use.
type Client struct {
	log       *zap.Logger
	keychain  authn.Keychain
	transport http.RoundTripper
	backoff   remote.Backoff
}

// New returns a client that finds credentials in Docker's configuration
// (authn.DefaultKeychain, which reads $DOCKER_CONFIG on every request: a
// `docker login` while devloop runs is seen by its next read).
func New(log *zap.Logger) *Client {
	// One transport of its own (connections and TLS sessions shared by
	// every read), wrapped per request in go-containerregistry's retry.
	tr := remote.DefaultTransport
	if base, ok := tr.(*http.Transport); ok {
		tr = base.Clone()
	}
	return &Client{
		log:       log,
		keychain:  authn.DefaultKeychain,
		transport: tr,
		// The inner loop waits on these reads: a short backoff, three tries.
		backoff: remote.Backoff{Duration: 250 * time.Millisecond, Factor: 3, Jitter: 0.1, Steps: 3},
	}
}

// options are the remote options of one request.
func (c *Client) options(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(c.keychain),
		remote.WithTransport(c.transport),
		remote.WithRetryBackoff(c.backoff),
		remote.WithUserAgent("devloop"),
	}
}

// Parse parses an image reference (REPO:TAG or REPO@DIGEST), plain HTTP
// for a registry on a loopback address.
func Parse(ref string) (name.Reference, error) {
	host := ref
	if i := strings.IndexByte(ref, '/'); i >= 0 {
		host = ref[:i]
	}
	var opts []name.Option
	if IsLoopbackHost(host) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	return r, nil
}

// IsLoopbackHost reports whether a registry host[:port] is on this machine.
func IsLoopbackHost(hostport string) bool {
	h := hostport
	if hh, _, err := net.SplitHostPort(hostport); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Exists reports whether ref (REPO:TAG or REPO@DIGEST) has a manifest in
// its registry (a HEAD request), and its digest. A 404 is "not there"; a
// refusal (401, 403) is an *AccessError, never "not there": an image that
// cannot be seen must not be built and pushed again on every run.
func (c *Client) Exists(ctx context.Context, ref string) (digest string, ok bool, err error) {
	r, err := Parse(ref)
	if err != nil {
		return "", false, err
	}
	desc, err := remote.Head(r, c.options(ctx)...)
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			c.log.Debug("not in the registry", zap.String("ref", ref))
			return "", false, nil
		}
		return "", false, c.classify(ctx, r, err, "checking %s in its registry", ref)
	}
	c.log.Debug("in the registry", zap.String("ref", ref), zap.String("digest", desc.Digest.String()))
	return desc.Digest.String(), true, nil
}

// Get reads ref's manifest (an image's or an index's).
func (c *Client) Get(ctx context.Context, ref string) (*remote.Descriptor, error) {
	r, err := Parse(ref)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, c.options(ctx)...)
	if err != nil {
		return nil, c.classify(ctx, r, err, "reading the manifest of %s", ref)
	}
	return desc, nil
}

// Image reads the image ref names (for an index, the child of this
// machine's platform, as remote.Image picks it).
func (c *Client) Image(ctx context.Context, ref string) (v1.Image, error) {
	r, err := Parse(ref)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(r, c.options(ctx)...)
	if err != nil {
		return nil, c.classify(ctx, r, err, "reading the image %s", ref)
	}
	return img, nil
}

// PushAuth is the engine's X-Registry-Auth value for a push to host: the
// credentials Docker's configuration holds for it, "{}" when there are none.
func (c *Client) PushAuth(ctx context.Context, host string) (string, error) {
	reg, err := name.NewRegistry(host)
	if err != nil {
		return "", fmt.Errorf("parsing registry %q: %w", host, err)
	}
	auth, err := authn.Resolve(ctx, c.keychain, reg)
	if err != nil {
		return "", fmt.Errorf("finding the credentials for %s in docker's configuration: %w", host, err)
	}
	cfg, err := authn.Authorization(ctx, auth)
	if err != nil {
		return "", fmt.Errorf("reading the credentials for %s: %w", host, err)
	}
	enc, err := dockerregistry.EncodeAuthConfig(dockerregistry.AuthConfig{
		Username: cfg.Username, Password: cfg.Password, Auth: cfg.Auth,
		IdentityToken: cfg.IdentityToken, RegistryToken: cfg.RegistryToken,
	})
	if err != nil {
		return "", fmt.Errorf("encoding the credentials for %s: %w", host, err)
	}
	return enc, nil
}

// AccessError is a registry's refusal of a read (401 or 403): devloop's
// credentials for it are missing, wrong or lack access.
type AccessError struct {
	// Registry is the registry host (e.g. 127.0.0.1:5443, ghcr.io).
	Registry string
	// Ref is the image reference that was read.
	Ref string
	// Status is the HTTP status (401 or 403).
	Status int
	// Anonymous is true when Docker's configuration holds no credentials
	// for the registry.
	Anonymous bool
	Err       error
}

func (e *AccessError) Error() string {
	login := "docker login " + e.Registry
	if e.Registry == name.DefaultRegistry {
		login = "docker login"
	}
	hint := "log in with " + login
	if !e.Anonymous {
		hint = "the credentials docker's configuration holds for it were refused: log in again with " + login +
			" (as a user that may read " + e.Ref + ")"
	}
	return fmt.Sprintf("registry %s refused devloop's read of %s (%d %s): %s", e.Registry, e.Ref, e.Status, http.StatusText(e.Status), hint)
}

func (e *AccessError) Unwrap() error { return e.Err }

// IsAccessError reports whether err is, or wraps, an *AccessError.
func IsAccessError(err error) bool {
	var ae *AccessError
	return errors.As(err, &ae)
}

// accessStatus is 401 or 403 when err is a registry's refusal, else 0.
func accessStatus(err error) int {
	var te *transport.Error
	if !errors.As(err, &te) {
		return 0
	}
	switch te.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return te.StatusCode
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.UnauthorizedErrorCode:
			return http.StatusUnauthorized
		case transport.DeniedErrorCode:
			return http.StatusForbidden
		}
	}
	return 0
}

// classify wraps a failed read: an *AccessError for a refusal, else the
// error with what was being done.
func (c *Client) classify(ctx context.Context, r name.Reference, err error, format string, ref string) error {
	status := accessStatus(err)
	if status == 0 {
		return fmt.Errorf(format+": %w", ref, err)
	}
	anonymous := false
	if auth, kerr := authn.Resolve(ctx, c.keychain, r.Context()); kerr == nil {
		anonymous = auth == authn.Anonymous
	}
	ae := &AccessError{Registry: r.Context().RegistryStr(), Ref: ref, Status: status, Anonymous: anonymous, Err: err}
	c.log.Debug("registry refused a read", zap.String("ref", ref), zap.Int("status", status), zap.Bool("anonymous", anonymous), zap.Error(err))
	return ae
}
