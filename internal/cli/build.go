package cli

import (
	"context"
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/kustomize"
	"github.com/devloop-dev/devloop/internal/pipeline"
)

// buildOptions are the flags of `devloop build`.
type buildOptions struct {
	g *globalOptions
	clusterFlags
	Platforms    []string
	Builder      string
	Push         bool
	WriteOverlay bool
}

func newBuildCmd(g *globalOptions, runF func(context.Context, *buildOptions) error) *cobra.Command {
	o := &buildOptions{g: g}
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the images whose content changed, get them into the cluster, print their references",
		Long: `Hash each artifact's context, build what is not already built, deliver it where the
cluster runs images (or push it with --push) and print one "IMAGE REFERENCE" line per
artifact. Nothing is applied.

With --write-overlay the references are written into the overlay's kustomization.yaml
images: list, as "kustomize edit set image" would (comments and order kept), for GitOps
repositories and CI. Without it devloop never edits your files.`,
		Example: "  devloop build\n  devloop build --push --write-overlay -p prod",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runBuild(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Platforms, "platform", nil, "platforms to build for (default: devloop.yaml, else the cluster's nodes)")
	f.StringVar(&o.Builder, "builder", "", "buildx builder to use")
	f.BoolVar(&o.Push, "push", false, "push to devloop.yaml's registry instead of loading into the cluster")
	f.BoolVar(&o.WriteOverlay, "write-overlay", false, "write the references into the overlay's kustomization.yaml images: list")
	o.registerCluster(cmd)
	return cmd
}

func runBuild(ctx context.Context, o *buildOptions) error {
	g := o.g
	cluster, err := o.override()
	if err != nil {
		return err
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	if o.Push && cfg.Registry == "" {
		return usageErrorf("--push needs registry in devloop.yaml (e.g. registry: 127.0.0.1:5000)")
	}
	out := g.newOutput()
	kc, err := g.connect(cfg, out)
	if err != nil {
		return err
	}
	r, err := pipeline.New(ctx, g.log, out.sink, cfg, kc, pipeline.Options{
		Platforms: splitList(o.Platforms), Builder: o.Builder, Push: o.Push,
		Progress: g.streams.Err, TTY: isTerminal(g.streams.Err), Cluster: cluster,
	})
	if err != nil {
		return err
	}
	defer r.Close()
	var res pipeline.Result
	refs, err := r.BuildAll(ctx, nil, &res)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.sink.Emit(events.Event{Phase: events.PhaseBuild, Status: events.StatusInfo, Artifact: n, Image: refs[n], Message: refs[n]})
	}
	if o.WriteOverlay {
		path, err := kustomize.File(cfg.Deploy.Kustomize.Dir)
		if err != nil {
			return err
		}
		if err := kustomize.SetImages(path, refs); err != nil {
			return err
		}
		out.say(events.PhaseBuild, fmt.Sprintf("wrote %d image references into %s", len(refs), path))
	}
	return nil
}
