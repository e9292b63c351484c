// Package cli holds devloop's commands: one file each, an options struct
// filled by flags and a run function that does the work.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/term"
)

// version is set at build time with -ldflags.
var version = "dev" //nolint:gochecknoglobals // set by the linker only

// Streams are the standard streams a command uses.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	File        string
	KubeContext string
	Profiles    []string
	Modules     []string
	// command is the name of the command being run.
	command       string
	Output        string
	Verbose       bool
	AllowContexts []string
	CPUProfile    string
	PprofAddr     string

	streams Streams
	log     *zap.Logger
	// stop restores default signal handling: a second Ctrl-C exits at once.
	stop context.CancelFunc
	// profiling is what --cpu-profile and --pprof-addr started.
	profiling profiling
}

// Run executes the command line and returns the process exit code.
func Run(ctx context.Context, stop context.CancelFunc, args []string, streams Streams) int {
	g := &globalOptions{streams: streams, stop: stop}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	err := root.ExecuteContext(ctx)
	stopProfiling(g)
	if g.log != nil {
		_ = g.log.Sync()
	}
	if err != nil {
		fmt.Fprintln(streams.Err, "Error:", err)
		return ExitCode(err)
	}
	return ExitOK
}

func newRootCmd(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:   "devloop",
		Short: "The Kubernetes inner loop: edit, and see it running in your local cluster seconds later",
		Long: `devloop watches your sources, builds images with docker buildx (cross-arch when the
cluster's nodes differ from this machine), gets them into your local cluster (kind, k3d,
k3s, minikube, Docker Desktop or any cluster with a registry), renders your kustomize
overlay with the new image references, applies it with server-side apply, waits for the
rollout, streams every pod's logs and port-forwards your frontend.

Configuration lives in devloop.yaml (see the reference devloop.yaml in the repository).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if g.Output != "text" && g.Output != "json" {
				return usageErrorf("--output must be text or json, not %q", g.Output)
			}
			g.log = newLogger(g.streams.Err, g.Verbose)
			g.command = cmd.Name()
			return startProfiling(g)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	pf := root.PersistentFlags()
	pf.StringVarP(&g.File, "file", "f", "devloop.yaml", "path to the devloop.yaml (or skaffold.yaml) to use; without it, devloop.yaml, else skaffold.yaml")
	pf.StringVar(&g.KubeContext, "kube-context", "", "kube context to use (default: the kubeconfig's current context)")
	pf.StringArrayVarP(&g.Profiles, "profile", "p", nil, "activate a profile of devloop.yaml (repeatable, applied in order); with a skaffold.yaml, comma-separated too, and -p -NAME deactivates an activated profile")
	pf.StringArrayVarP(&g.Modules, "module", "m", nil, "with a skaffold.yaml: deploy only the configurations of these names (metadata.name) and those they require (repeatable or comma-separated)")
	pf.StringVarP(&g.Output, "output", "o", "text", "output format: text or json (one event per line)")
	pf.BoolVarP(&g.Verbose, "verbose", "v", false, "log debug details to stderr")
	pf.StringArrayVar(&g.AllowContexts, "allow-context", nil, "allow deploying to this non-local kube context (repeatable)")
	pf.StringVar(&g.CPUProfile, "cpu-profile", "", "write a CPU profile of devloop to this file (go tool pprof)")
	pf.StringVar(&g.PprofAddr, "pprof-addr", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060")
	_ = pf.MarkHidden("pprof-addr")

	root.AddCommand(
		newVersionCmd(g),
	)
	for _, c := range commands(g) {
		root.AddCommand(c)
	}
	return root
}

// newLogger builds the one zap logger of the process: warnings and errors for
// people on stderr, debug details with --verbose.
func newLogger(w io.Writer, verbose bool) *zap.Logger {
	level := zapcore.WarnLevel
	if verbose {
		level = zapcore.DebugLevel
	}
	encCfg := zap.NewDevelopmentEncoderConfig()
	encCfg.TimeKey = ""
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
	}
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(encCfg), zapcore.AddSync(w), level)
	return zap.New(core)
}

func newVersionCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print devloop's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(g.streams.Out, "devloop %s\n", version)
			return err
		},
	}
}
