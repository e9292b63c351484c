package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/client"
	"go.uber.org/zap"
)

// NoEngineError says that no Docker Engine answered at the chosen endpoint.
type NoEngineError struct {
	Endpoint Endpoint
	Err      error
}

func (e *NoEngineError) Error() string {
	return fmt.Sprintf("no Docker Engine at %s (from %s): is it running? "+
		"Start it, or point devloop at another engine with DOCKER_HOST or `docker context use NAME`: %v",
		e.Endpoint.Host, e.Endpoint.Source, e.Err)
}

func (e *NoEngineError) Unwrap() error { return e.Err }

// New connects to the engine the user's docker CLI talks to and checks that
// it answers. The client negotiates the API version with the engine.
func New(ctx context.Context, log *zap.Logger) (*client.Client, Endpoint, error) {
	ep, err := Resolve(os.Getenv)
	if err != nil {
		return nil, Endpoint{}, err
	}
	c, err := Connect(ctx, ep)
	if err != nil {
		return nil, ep, err
	}
	log.Debug("docker engine", zap.String("host", ep.Host), zap.String("source", ep.Source),
		zap.String("apiVersion", c.ClientVersion()))
	return c, ep, nil
}

// Connect makes a client for ep and pings the engine.
func Connect(ctx context.Context, ep Endpoint) (*client.Client, error) {
	if strings.HasPrefix(ep.Host, "ssh://") {
		return nil, fmt.Errorf("docker engine %s: ssh:// endpoints are not supported yet; "+
			"forward the engine's socket (ssh -L) and set DOCKER_HOST to it", ep)
	}
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	if ep.fromEnv {
		opts = append(opts, client.FromEnv)
	} else {
		opts = append(opts, client.WithHost(ep.Host))
		if ep.TLS != nil {
			opts = append(opts, client.WithTLSClientConfig(ep.TLS.CA, ep.TLS.Cert, ep.TLS.Key))
		}
	}
	// FromEnv resets the negotiation if DOCKER_API_VERSION is set; keep ours last.
	opts = append(opts, client.WithAPIVersionNegotiation())
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating docker client for %s: %w", ep, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Ping(pctx); err != nil {
		_ = c.Close()
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, fmt.Errorf("connecting to docker engine: %w", ctx.Err())
		}
		return nil, &NoEngineError{Endpoint: ep, Err: err}
	}
	c.NegotiateAPIVersion(ctx)
	return c, nil
}
