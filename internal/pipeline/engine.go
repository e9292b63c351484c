package pipeline

import (
	"context"
	"errors"
	"io"
	"os"

	"github.com/docker/docker/client"
	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/docker"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/registry"
	"github.com/devloop-dev/devloop/internal/stage/builder"
	"github.com/devloop-dev/devloop/internal/stage/delivery"
)

// engine is the connection to the Docker Engine and what builds and
// delivers through it: made once a configuration has artifacts (by New, or
// by the first pass after a reload added one).
type engine struct {
	log      *zap.Logger
	sink     events.Sink
	registry *registry.Client
	opts     builder.BuildxOptions

	client   *client.Client
	buildx   *build.Builder
	delivery *delivery.Stage
	kind     builder.Kind
}

// dial connects to the engine when not connected yet.
func (e *engine) dial(ctx context.Context) error {
	if e.client != nil {
		return nil
	}
	c, ep, err := docker.New(ctx, e.log.Named("docker"))
	if err != nil {
		return err
	}
	e.client = c
	e.buildx = build.NewBuilder(e.log.Named("build"), docker.MergeEnv(os.Environ(), ep.CommandEnv()))
	return nil
}

// deliverTo makes the deliverer for cluster and the buildx Kind over it.
func (e *engine) deliverTo(cluster deliver.Cluster) error {
	if e.delivery != nil {
		return nil
	}
	d, err := deliver.New(cluster, e.client, e.registry, e.log.Named("deliver"))
	if err != nil {
		return err
	}
	e.delivery = delivery.New(e.sink, d)
	e.opts.Cluster = cluster
	e.kind = builder.NewBuildx(e.log.Named("build"), e.sink, e.buildx, e.client, e.registry, e.delivery, e.opts)
	return nil
}

// connect makes the engine connection, the builder and the deliverer when
// they do not exist yet: a reload added the first artifact.
func (e *engine) connect(ctx context.Context, cluster deliver.Cluster) error {
	if err := e.dial(ctx); err != nil {
		return err
	}
	return e.deliverTo(cluster)
}

// Close releases the deliverer's connection and the engine's.
func (e *engine) Close() error {
	var errs []error
	if e.delivery != nil {
		errs = append(errs, e.delivery.Close())
	}
	if e.client != nil {
		errs = append(errs, e.client.Close())
	}
	return errors.Join(errs...)
}

var _ io.Closer = (*engine)(nil)
