package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/dashboard"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/loop"
	"github.com/devloop-dev/devloop/internal/pipeline"
	"github.com/devloop-dev/devloop/internal/session"
)

// devOptions are the flags of `devloop dev`.
type devOptions struct {
	g *globalOptions
	buildDeployFlags
	NoLogs      bool
	NoUI        bool
	UIPort      int
	Cleanup     bool
	CleanupData bool
	QuietPeriod time.Duration
	// debug is set by `devloop debug`: dev with the containers under
	// their runtime's debugger.
	debug *pipeline.DebugOptions
	// writeLaunch (`devloop debug --write-launch`) writes the attach
	// configurations of the debug ports into .vscode/launch.json.
	writeLaunch bool
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

A dashboard is served on 127.0.0.1 (--ui-port, default 7357 or a free port; --no-ui turns
it off): resources and their status, the cycle in flight and the phases of the last
cycles, the last build's output, every pod's logs, the port-forwards, and buttons that
rebuild an artifact or redeploy. Its address is the "ui" event.

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
	o.registerDev(cmd)
	return cmd
}

// registerDev adds the flags of dev (and debug) to cmd.
func (o *devOptions) registerDev(cmd *cobra.Command) {
	o.register(cmd, "platforms to build for (default: devloop.yaml, else the cluster's nodes)", "buildx builder to use")
	f := cmd.Flags()
	f.BoolVar(&o.NoLogs, "no-logs", false, "do not stream the pods' logs")
	f.BoolVar(&o.NoUI, "no-ui", false, "do not serve the dashboard")
	f.IntVar(&o.UIPort, "ui-port", 0, fmt.Sprintf("port of the dashboard on 127.0.0.1 (default %d, or a free one when taken)", dashboard.DefaultPort))
	f.BoolVar(&o.Cleanup, "cleanup", true, "on exit, delete what devloop applied (PersistentVolumeClaims are kept)")
	f.BoolVar(&o.CleanupData, "cleanup-data", false, "on exit, delete PersistentVolumeClaims too")
	f.DurationVar(&o.QuietPeriod, "quiet-period", 0, "debounce of file events (default: dev.quietPeriod, 50ms)")
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
	if err := checkDebugArtifacts(cfg, o.debug); err != nil {
		return err
	}
	session.LimitMemory()
	out := g.newOutput()
	kc, err := g.connect(cfg, out)
	if err != nil {
		return err
	}
	var dash *dashboard.Server
	if !o.NoUI {
		dash = dashboard.New(g.log.Named("dashboard"), dashboard.Options{Port: o.UIPort})
		url, err := dash.Listen()
		if err != nil {
			return usageErrorf("%w", err)
		}
		out.sink = events.Tee{out.sink, dash}
		out.sink.Emit(events.Event{Time: time.Now(), Phase: events.PhaseUI, Status: events.StatusDone, URL: url,
			Message: "dashboard on " + url + " (--no-ui turns it off)"})
	}
	r, err := pipeline.New(ctx, g.log, out.sink, cfg, kc, pipeline.Options{
		Platforms: splitList(o.Platforms), Builder: o.Builder, Force: o.Force, Adopt: o.Adopt,
		Progress: g.streams.Err, TTY: isTerminal(g.streams.Err), Cluster: cluster,
		Mode: pipeline.ModeDev, Debug: o.debug,
	})
	if err != nil {
		return err
	}
	defer r.Close()

	var summary loop.Summarizer
	if out.text != nil {
		summary = out.text
	}
	logOut := g.logOutput()
	if dash != nil {
		logOut = io.MultiWriter(logOut, dash.LogWriter())
		if o.NoLogs {
			logOut = dash.LogWriter() // the page still shows them
		}
	}
	var launch string
	if o.writeLaunch {
		launch = session.LaunchFile(r.Config())
	}
	err = session.Dev(ctx, g.log, session.DevOptions{
		Sink: out.sink, Summary: summary, Kube: kc, Runner: r, Load: load,
		Logs: !o.NoLogs || dash != nil, LogOutput: logOut, Dashboard: dash, LaunchFile: launch,
	})

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
