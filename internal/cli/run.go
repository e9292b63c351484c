package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/pipeline"
	"github.com/devloop-dev/devloop/internal/session"
)

// runOptions are the flags of `devloop run`.
type runOptions struct {
	g *globalOptions
	buildDeployFlags
	Tail        bool
	PortForward bool
	DryRun      bool
}

// buildDeployFlags are the build and deploy flags `dev` and `run` share.
type buildDeployFlags struct {
	clusterFlags
	Platforms []string
	Builder   string
	Namespace string
	Force     bool
	Adopt     bool
}

// register adds --platform, --builder, --namespace/-n, --force, --delivery and
// --containerd-address to cmd; each
// command words the help of --platform and --builder its own way.
func (b *buildDeployFlags) register(cmd *cobra.Command, platformHelp, builderHelp string) {
	f := cmd.Flags()
	f.StringSliceVar(&b.Platforms, "platform", nil, platformHelp)
	f.StringVar(&b.Builder, "builder", "", builderHelp)
	f.StringVarP(&b.Namespace, "namespace", "n", "", "override the namespace of namespaced objects")
	f.BoolVar(&b.Force, "force", false, "delete and recreate objects whose immutable fields changed")
	f.BoolVar(&b.Adopt, "adopt", false, "take over objects of the manifests that exist without devloop's labels (devloop never deletes them)")
	b.registerCluster(cmd)
}

func newRunCmd(g *globalOptions, runF func(context.Context, *runOptions) error) *cobra.Command {
	o := &runOptions{g: g}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Build, deliver, apply and wait once, then exit with a status a script can trust",
		Long: `Build every artifact whose content changed, get the images into the cluster, render the
kustomize overlay with the new image references, apply it with server-side apply, prune
what left the manifests and wait until everything is ready.

Objects of the manifests that already exist without this config's labels (made by hand,
by another tool or by another devloop config) stop the apply unless --adopt (or
deploy.adopt: true): an adopted object is replaced by exactly what the manifests say
(fields only another tool set are removed; status and what the API server defaults are
kept), the object it replaced is reported, and devloop never deletes it.
--adopt --dry-run builds and writes nothing: it renders the overlay as devloop render
does and prints, per object it would adopt, the fields the adoption would remove (-),
add (+) or change (~), from the API server's dry run of the replacing write.

Exit status: 0 when everything is ready (with --dry-run: when the preview was made),
1 when a build, the deploy or the rollout failed, 2 for bad flags, a bad devloop.yaml or
a kube context devloop may not use.`,
		Example: `  devloop run
  devloop run -p prod --platform linux/amd64,linux/arm64
  devloop run --port-forward --tail    # then keep forwarding and streaming logs until Ctrl-C
  devloop run --adopt --dry-run        # what adopting existing objects would change
  devloop run -o json | jq .`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runRun(cmd.Context(), o)
		},
	}
	o.register(cmd,
		"platforms to build for, e.g. linux/amd64,linux/arm64 (default: from devloop.yaml, else the cluster's nodes)",
		"buildx builder to use (default: build.builder, else the current builder)")
	f := cmd.Flags()
	f.BoolVar(&o.Tail, "tail", false, "after the deploy, stream the logs of every pod until Ctrl-C")
	f.BoolVar(&o.PortForward, "port-forward", false, "after the deploy, forward the ports of devloop.yaml's portForward until Ctrl-C")
	f.BoolVar(&o.DryRun, "dry-run", false, "with --adopt: build and write nothing, print what adopting existing objects would change")
	return cmd
}

func runRun(ctx context.Context, o *runOptions) error {
	g := o.g
	cluster, err := o.override()
	if err != nil {
		return err
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	if o.Namespace != "" {
		cfg.Deploy.Namespace = o.Namespace
	}
	if o.DryRun {
		if !o.Adopt && !cfg.Deploy.Adopt {
			return usageErrorf("--dry-run previews what --adopt would change: add --adopt (or set deploy.adopt: true)")
		}
		if o.Tail || o.PortForward {
			return usageErrorf("--dry-run deploys nothing: --tail and --port-forward have nothing to follow")
		}
	}
	out := g.newOutput()
	kc, err := g.connect(cfg, out)
	if err != nil {
		return err
	}
	if o.DryRun {
		return previewAdoption(ctx, o, cfg, kc, out)
	}
	r, err := pipeline.New(ctx, g.log, out.sink, cfg, kc, pipeline.Options{
		Platforms: splitList(o.Platforms), Builder: o.Builder, Force: o.Force, Adopt: o.Adopt,
		Progress: g.streams.Err, TTY: isTerminal(g.streams.Err), Cluster: cluster,
		Mode: pipeline.ModeRun,
	})
	if err != nil {
		return err
	}
	defer r.Close()

	t := events.Start(out.sink, events.Event{Phase: events.PhaseRun})
	res, err := r.Run(ctx)
	if err != nil {
		t.Fail(err)
		return err
	}
	summary := fmt.Sprintf("built %d, delivered %d, %s", len(res.Built), len(res.Delivered), applyWords(res))
	if out.text != nil {
		summary += " — " + out.text.Summary()
	}
	t.Done(summary)

	if !o.Tail && !o.PortForward {
		return nil
	}
	return session.Attach(ctx, g.log, out.sink, kc, cfg, res.Objects, g.logOutput(), o.Tail, o.PortForward)
}

func applyWords(res pipeline.Result) string {
	if !res.Apply.Changed() && len(res.Pruned) == 0 {
		return "nothing written to the cluster"
	}
	return fmt.Sprintf("%d API writes, %d pruned", res.Apply.Writes, len(res.Pruned))
}
