package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// configOptions are the flags of `devloop config`.
type configOptions struct {
	g *globalOptions
}

func newConfigCmd(g *globalOptions, runF func(context.Context, *configOptions) error) *cobra.Command {
	o := &configOptions{g: g}
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective configuration, with where each value came from",
		Long: `Load devloop.yaml with the active profiles (-p, and those activated by the kube
context), apply defaults and print the result as YAML. A comment on every value says where
it came from: a line of devloop.yaml, a profile, or a default. Nothing is contacted.`,
		Example: "  devloop config -p prod",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runConfig(o)
		},
	}
}

func runConfig(o *configOptions) error {
	cfg, err := o.g.loadConfig()
	if err != nil {
		return err
	}
	b, err := cfg.Render()
	if err != nil {
		return err
	}
	_, err = o.g.streams.Out.Write(b)
	return err
}
