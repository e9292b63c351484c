package build

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ImageInspector is the part of the Docker Engine API presence checks use.
type ImageInspector interface {
	ImageInspect(ctx context.Context, ref string, opts ...client.ImageInspectOption) (image.InspectResponse, error)
}

// ExistsInEngine reports whether ref (e.g. notes-web:TAG) is an image in the
// engine, so that an unchanged tag is not built again.
func ExistsInEngine(ctx context.Context, engine ImageInspector, ref string) (bool, error) {
	_, err := engine.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if client.IsErrNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("inspecting image %s: %w", ref, err)
}

// RegistryOptions are the name options for a registry reference: plain HTTP
// for a registry on a loopback address (127.0.0.1, localhost, ::1).
func RegistryOptions(ref string) []name.Option {
	host := ref
	if i := strings.IndexByte(ref, '/'); i >= 0 {
		host = ref[:i]
	}
	if IsLoopbackHost(host) {
		return []name.Option{name.Insecure}
	}
	return nil
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

// ExistsInRegistry reports whether ref (REPO:TAG or REPO@DIGEST) has a
// manifest in its registry (a HEAD request), and its digest.
func ExistsInRegistry(ctx context.Context, ref string) (digest string, ok bool, err error) {
	r, err := name.ParseReference(ref, RegistryOptions(ref)...)
	if err != nil {
		return "", false, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	desc, err := remote.Head(r, remote.WithContext(ctx))
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			return "", false, nil
		}
		return "", false, fmt.Errorf("checking %s in its registry: %w", ref, err)
	}
	return desc.Digest.String(), true, nil
}
