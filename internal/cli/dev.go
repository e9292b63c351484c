package cli

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	gosync "sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/loop"
	"github.com/devloop-dev/devloop/internal/pipeline"
	"github.com/devloop-dev/devloop/internal/sync"
)

// devOptions are the flags of `devloop dev`.
type devOptions struct {
	g *globalOptions
	buildDeployFlags
	NoLogs      bool
	Cleanup     bool
	CleanupData bool
	QuietPeriod time.Duration
}

func newDevCmd(g *globalOptions, runF func(context.Context, *devOptions) error) *cobra.Command {
	o := &devOptions{g: g}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Watch, rebuild, redeploy, stream logs and port-forward until Ctrl-C",
		Long: `Deploy once, then watch every artifact's context, the kustomize tree and devloop.yaml.
Each batch of changes is decided on its own: files matching an artifact's sync rules are
copied into the running containers; other source changes rebuild that artifact only (and
only when its content hash moved); manifest changes re-render and apply; a devloop.yaml
change reloads it. A newer change cancels the build in flight.

Logs of every pod devloop applied are streamed with pod/container prefixes, and the
portForward entries are served on 127.0.0.1 and follow the newest Ready pod.

Ctrl-C deletes what devloop applied except PersistentVolumeClaims (the data survives);
--cleanup=false keeps everything, --cleanup-data deletes the claims too. A second Ctrl-C
exits at once.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runDev(cmd.Context(), o)
		},
	}
	o.register(cmd, "platforms to build for (default: devloop.yaml, else the cluster's nodes)", "buildx builder to use")
	f := cmd.Flags()
	f.BoolVar(&o.NoLogs, "no-logs", false, "do not stream the pods' logs")
	f.BoolVar(&o.Cleanup, "cleanup", true, "on exit, delete what devloop applied (PersistentVolumeClaims are kept)")
	f.BoolVar(&o.CleanupData, "cleanup-data", false, "on exit, delete PersistentVolumeClaims too")
	f.DurationVar(&o.QuietPeriod, "quiet-period", 0, "debounce of file events (default: dev.quietPeriod, 50ms)")
	return cmd
}

func runDev(ctx context.Context, o *devOptions) error {
	g := o.g
	load := func() (*config.Config, error) {
		cfg, err := g.loadConfig()
		if err != nil {
			return nil, err
		}
		if o.Namespace != "" {
			cfg.Deploy.Namespace = o.Namespace
		}
		if o.QuietPeriod > 0 {
			cfg.Dev.QuietPeriod = o.QuietPeriod
		}
		return cfg, nil
	}
	cluster, err := o.override()
	if err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	limitMemory()
	out := g.newOutput()
	kc, err := g.connect(cfg, out)
	if err != nil {
		return err
	}
	r, err := pipeline.New(ctx, g.log, out.sink, cfg, kc, pipeline.Options{
		Platforms: splitList(o.Platforms), Builder: o.Builder, Force: o.Force, Adopt: o.Adopt,
		Progress: g.streams.Err, TTY: isTerminal(g.streams.Err), CacheRender: true, Cluster: cluster,
	})
	if err != nil {
		return err
	}
	defer r.Close()

	fw := &forwards{g: g, kc: kc, out: out}
	var summary loop.Summarizer
	if out.text != nil {
		summary = out.text
	}
	l := loop.New(g.log.Named("loop"), out.sink, r, sync.New(kc.Config, kc.Clientset, g.log.Named("sync")), loop.Options{
		Load:        load,
		Summary:     summary,
		OnFirstPass: func(res pipeline.Result) { fw.restart(ctx, r.Config(), res) },
		OnConfig:    func(c *config.Config) { fw.restart(ctx, c, pipeline.Result{}) },
		URLs:        fw.urls,
		// Between cycles devloop only waits: give back what a cycle used.
		OnIdle: debug.FreeOSMemory,
	})

	eg, ectx := errgroup.WithContext(ctx)
	if !o.NoLogs {
		eg.Go(func() error {
			// Every namespace: pods start streaming before the first rollout is
			// healthy, so crash output is never held back.
			return attach(ectx, g, cfg, kc, nil, out, attachOptions{Logs: true})
		})
	}
	eg.Go(func() error { return l.Run(ectx) })
	err = eg.Wait()
	fw.stop()

	// Ctrl-C: a second one exits at once from here on.
	g.stop()
	if !o.Cleanup {
		out.say(events.PhaseCleanup, "--cleanup=false: leaving everything devloop applied in the cluster")
		return err
	}
	cctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if cerr := cleanup(cctx, g, kc, r.Config(), out, !o.CleanupData, true); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// forwards runs the port-forwards of the current configuration and restarts
// them when it changes.
type forwards struct {
	g   *globalOptions
	kc  *kube.Client
	out output

	mu          gosync.Mutex
	cancel      context.CancelFunc
	done        chan struct{}
	forwardURLs []string
}

func (f *forwards) restart(ctx context.Context, cfg *config.Config, res pipeline.Result) {
	f.stop()
	if len(cfg.PortForward) == 0 {
		return
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	f.mu.Lock()
	f.cancel, f.done, f.forwardURLs = cancel, done, nil
	for _, pf := range cfg.PortForward {
		f.forwardURLs = append(f.forwardURLs, fmt.Sprintf("http://%s:%d", addrOr(pf.Address), pf.LocalPort))
	}
	f.mu.Unlock()
	go func() {
		defer close(done)
		_ = attach(fctx, f.g, cfg, f.kc, res.Objects, f.out, attachOptions{PortForward: true})
	}()
}

func (f *forwards) stop() {
	f.mu.Lock()
	cancel, done := f.cancel, f.done
	f.cancel, f.done = nil, nil
	f.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (f *forwards) urls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.forwardURLs...)
}

func addrOr(a string) string {
	if a == "" {
		return "127.0.0.1"
	}
	if strings.Contains(a, ":") {
		return "[" + a + "]"
	}
	return a
}

// devMemoryLimit is the Go runtime's soft memory limit for `devloop dev`,
// which runs all day beside the editor: the garbage collector works harder
// as the heap nears it (a 100,000-file context keeps about 14 MB live) rather
// than let a burst of hashing double the footprint. A GOMEMLIMIT in the
// environment wins.
const devMemoryLimit = 48 << 20

func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(devMemoryLimit)
	}
}
