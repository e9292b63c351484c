package session

import (
	"context"
	"io"
	"os"
	"runtime/debug"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/dashboard"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/loop"
	"github.com/devloop-dev/devloop/internal/pipeline"
)

// DevOptions are what `devloop dev` composes its components from.
type DevOptions struct {
	Sink events.Sink
	// Summary adds per-phase timings to each cycle's report (text output);
	// may be nil.
	Summary loop.Summarizer
	Kube    *kube.Client
	Runner  *pipeline.Runner
	// Load reloads devloop.yaml (with the same profiles and flags).
	Load func() (*config.Config, error)
	// Logs streams the pods' logs to LogOutput.
	Logs      bool
	LogOutput io.Writer
	// Dashboard, when set (listening already), is served and its buttons
	// drive the loop.
	Dashboard *dashboard.Server
	// LaunchFile, when set, is the launch.json that the debug forwards'
	// attach configurations are written to.
	LaunchFile string
}

// Dev runs `devloop dev` until ctx ends: the loop, the port-forwards and,
// unless disabled, the logs, over one Feed the loop publishes to after its
// first pass and after every reload. Cleanup is the caller's, after Dev
// returned.
func Dev(ctx context.Context, log *zap.Logger, o DevOptions) error {
	feed := NewFeed(State{Config: o.Runner.Config()})
	fw := NewForwards(o.Kube, log.Named("portforward"), o.Sink, feed, false)
	fw.launchFile = o.LaunchFile
	l := loop.New(log.Named("loop"), o.Sink, o.Runner, loop.Options{
		Load:    o.Load,
		Summary: o.Summary,
		Publish: func(cfg *config.Config, objs []*unstructured.Unstructured) {
			feed.Publish(State{Config: cfg, Objects: objs, Deployed: true})
		},
		URLs: fw.URLs,
		// Between cycles devloop only waits: give back what a cycle used.
		OnIdle: debug.FreeOSMemory,
	})
	components := []Runnable{l, fw}
	if o.Dashboard != nil {
		o.Dashboard.SetTrigger(l)
		components = append(components, NewDashboard(o.Dashboard, feed, o.Kube))
	}
	if o.Logs {
		components = append(components, NewLogs(o.Kube.Clientset, log.Named("logs"), feed, o.LogOutput, true))
	}
	return Run(ctx, components...)
}

// Attach keeps the logs (tail) and the port-forwards (forward) of a pass's
// objects running until ctx ends (`devloop run --tail --port-forward`); a
// forward that fails ends it with the error.
func Attach(ctx context.Context, log *zap.Logger, sink events.Sink, kc *kube.Client, cfg *config.Config, objs []*unstructured.Unstructured, logOut io.Writer, tail, forward bool) error {
	feed := NewFeed(State{Config: cfg, Objects: objs, Deployed: true})
	var components []Runnable
	if tail {
		components = append(components, NewLogs(kc.Clientset, log.Named("logs"), feed, logOut, false))
	}
	if forward {
		components = append(components, NewForwards(kc, log.Named("portforward"), sink, feed, true))
	}
	return Run(ctx, components...)
}

// devMemoryLimit is the Go runtime's soft memory limit for `devloop dev`,
// which runs all day beside the editor: the garbage collector works harder
// as the heap nears it (a 100,000-file context keeps about 14 MB live) rather
// than let a burst of hashing double the footprint. A GOMEMLIMIT in the
// environment wins.
const devMemoryLimit = 48 << 20

// LimitMemory sets devloop dev's soft memory limit unless GOMEMLIMIT is set.
func LimitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(devMemoryLimit)
	}
}
