package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kube"
	"github.com/devloop-dev/devloop/internal/skaffold"
)

// commands are the subcommands besides version.
func commands(g *globalOptions) []*cobra.Command {
	return []*cobra.Command{
		newRunCmd(g, nil),
		newDevCmd(g, nil),
		newDebugCmd(g, nil),
		newBuildCmd(g, nil),
		newRenderCmd(g, nil),
		newDeleteCmd(g, nil),
		newConfigCmd(g, nil),
		newDoctorCmd(g, nil),
		newInitCmd(g, nil),
	}
}

// output is where a command reports: events as text or JSON on stdout.
type output struct {
	sink events.Sink
	text *events.Text // nil in JSON mode
}

func (g *globalOptions) newOutput() output {
	if g.Output == "json" {
		return output{sink: events.NewJSON(g.streams.Out)}
	}
	t := events.NewText(g.streams.Out)
	return output{sink: t, text: t}
}

// logOutput is where pod logs go: stdout, or stderr with -o json so that
// stdout carries only events.
func (g *globalOptions) logOutput() io.Writer {
	if g.Output == "json" {
		return g.streams.Err
	}
	return g.streams.Out
}

// say prints a line for people in text mode and an info event in JSON mode.
func (o output) say(phase, msg string) {
	o.sink.Emit(events.Event{Phase: phase, Status: events.StatusInfo, Message: msg})
}

// loadConfig loads devloop.yaml with the selected profiles. The kube context
// (for profile activation) is read from the kubeconfig without contacting
// the cluster; without a kubeconfig, activation is skipped.
func (g *globalOptions) loadConfig() (*config.Config, error) {
	kubeContext := g.KubeContext
	if kubeContext == "" {
		if c, _, _, err := kube.Resolve(""); err == nil {
			kubeContext = c
		}
	}
	opts := config.Options{Profiles: g.Profiles, KubeContext: kubeContext}
	if file, ok := g.skaffoldFile(); ok {
		opts.Profiles = splitList(g.Profiles)
		return skaffold.Load(file, skaffold.Options{Options: opts, Modules: splitList(g.Modules), Command: g.command})
	}
	if len(g.Modules) > 0 {
		return nil, usageErrorf("--module selects configurations of a skaffold.yaml; %s is a devloop.yaml, which holds one configuration", g.File)
	}
	cfg, err := config.Load(g.File, opts)
	if err != nil {
		// Only when devloop.yaml itself is missing: a missing context or
		// kustomize directory also wraps fs.ErrNotExist and has its own message.
		if _, statErr := os.Stat(g.File); errors.Is(statErr, fs.ErrNotExist) && g.File == "devloop.yaml" {
			return nil, usageErrorf("no devloop.yaml or skaffold.yaml in this directory: run devloop where your devloop.yaml is, or pass -f PATH")
		}
		return nil, err
	}
	return cfg, nil
}

// skaffoldFile names the Skaffold configuration to read instead of a
// devloop.yaml: skaffold.yaml when the default devloop.yaml is absent, or
// the -f file when it is a Skaffold configuration.
func (g *globalOptions) skaffoldFile() (string, bool) {
	if g.File == "devloop.yaml" {
		if _, err := os.Stat(g.File); errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat("skaffold.yaml"); err == nil {
				return "skaffold.yaml", true
			}
		}
		return "", false
	}
	data, err := os.ReadFile(g.File)
	if err != nil {
		return "", false
	}
	return g.File, skaffold.IsSkaffold(data)
}

// connect resolves the kube context, refuses non-local clusters that are not
// allowed (before anything is built) and returns the clients.
func (g *globalOptions) connect(cfg *config.Config, out output) (*kube.Client, error) {
	ctxName, server, _, err := kube.Resolve(g.KubeContext)
	if err != nil {
		return nil, err
	}
	allowed := append(append([]string{}, cfg.AllowContexts...), g.AllowContexts...)
	why, err := kube.CheckAllowed(ctxName, server, allowed)
	if err != nil {
		return nil, err
	}
	for _, p := range cfg.ActiveProfiles {
		out.say(events.PhaseConfig, fmt.Sprintf("profile %s active: %s", p.Name, p.Reason))
	}
	out.say(events.PhaseConfig, fmt.Sprintf("kube context %s (%s): %s", ctxName, server, why))
	return kube.New(ctxName)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// splitList accepts repeated and comma-separated flag values.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
