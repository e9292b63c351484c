package cli

import (
	"bytes"
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/pipeline"
	"github.com/devloop-dev/devloop/internal/stage/renderer"
)

// renderOptions are the flags of `devloop render`.
type renderOptions struct {
	g           *globalOptions
	Platforms   []string
	Namespace   string
	ShowSecrets bool
}

func newRenderCmd(g *globalOptions, runF func(context.Context, *renderOptions) error) *cobra.Command {
	o := &renderOptions{g: g}
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Print the manifests devloop would apply, with the image references it would deploy",
		Long: `Render the kustomize overlay in process, with each artifact's image reference set to the
tag its current content hashes to, devloop's labels added and the namespace override
applied, and print it as YAML. Nothing is built and no cluster is needed: the platforms
that enter the tag come from --platform or devloop.yaml, else this machine's. Secret
values are masked unless --show-secrets.`,
		Example: "  devloop render -p prod\n  devloop render | kubectl diff -f -",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runRender(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Platforms, "platform", nil, "platforms that enter the image tags (default: devloop.yaml, else this machine's)")
	f.StringVarP(&o.Namespace, "namespace", "n", "", "override the namespace of namespaced objects")
	f.BoolVar(&o.ShowSecrets, "show-secrets", false, "print Secret values instead of masking them")
	return cmd
}

func runRender(ctx context.Context, o *renderOptions) error {
	cfg, err := o.g.loadConfig()
	if err != nil {
		return err
	}
	// Say which profiles shaped the output (stderr: stdout stays YAML), as
	// run does: one activated by the kube context must never go unnoticed.
	for _, p := range cfg.ActiveProfiles {
		fmt.Fprintf(o.g.streams.Err, "profile %s active: %s\n", p.Name, p.Reason)
	}
	if cfg.Deploy.Kustomize.Dir == "" {
		return &pipeline.InputError{Err: fmt.Errorf("devloop render prints the kustomize overlay, and this configuration deploys Helm releases only (%d); devloop run renders and installs them", len(cfg.Deploy.Helm.Releases))}
	}
	if len(cfg.Deploy.Helm.Releases) > 0 {
		fmt.Fprintf(o.g.streams.Err, "the %d Helm releases are not rendered here: only the kustomize overlay\n", len(cfg.Deploy.Helm.Releases))
	}
	if o.Namespace != "" {
		cfg.Deploy.Namespace = o.Namespace
	}
	refs, err := pipeline.ContentRefs(ctx, cfg, splitList(o.Platforms), []string{runtime.GOOS + "/" + runtime.GOARCH})
	if err != nil {
		return err
	}
	objs, err := deploy.Render(ctx, deploy.RenderOptions{
		Path: cfg.Deploy.Kustomize.Dir, Images: refs, Namespace: cfg.Deploy.Namespace, ConfigName: cfg.Metadata.Name,
		ImagePullSecrets: cfg.Deploy.ImagePullSecrets,
	})
	if err != nil {
		return &pipeline.InputError{Err: err}
	}
	if err := renderer.CheckPortForwards(cfg, objs); err != nil {
		return err
	}
	if !o.ShowSecrets {
		objs = deploy.Redact(objs)
	}
	var buf bytes.Buffer
	for i, obj := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		b, err := yaml.Marshal(obj.Object)
		if err != nil {
			return fmt.Errorf("printing %s/%s: %w", obj.GetKind(), obj.GetName(), err)
		}
		buf.Write(b)
	}
	_, err = o.g.streams.Out.Write(buf.Bytes())
	return err
}
