package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/kustomize"
	"github.com/devloop-dev/devloop/internal/scaffold"
)

// initOptions are the flags of `devloop init`.
type initOptions struct {
	g      *globalOptions
	DryRun bool
}

func newInitCmd(g *globalOptions, runF func(context.Context, *initOptions) error) *cobra.Command {
	o := &initOptions{g: g}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a first devloop.yaml for the project in this directory",
		Long: `Look at this directory's Dockerfiles and its kustomize tree (or a directory of plain
manifests) and write a commented devloop.yaml: one artifact per Dockerfile whose image
the manifests use, the overlay to deploy (a dev overlay when there is one) and a
port-forward to the first Service. For plain manifests it also writes a
kustomization.yaml listing them. It never overwrites a file: an existing devloop.yaml
is an error. --dry-run prints what it would write.`,
		Example: "  devloop init --dry-run\n  devloop init && devloop dev",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runInit(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.DryRun, "dry-run", false, "print the devloop.yaml instead of writing it")
	return cmd
}

func runInit(ctx context.Context, o *initOptions) error {
	g := o.g
	target, err := filepath.Abs(g.File)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	if _, err := os.Stat(target); err == nil && !o.DryRun {
		return usageErrorf("%s already exists: devloop init never overwrites it (--dry-run prints what it would write)", g.File)
	}
	p, err := scaffold.Detect(ctx, dir)
	if err != nil {
		return usageErrorf("devloop init: %w", err)
	}
	text := scaffold.Render(p)
	var kfile string
	if p.NewKustomization != "" {
		kfile = filepath.Join(dir, filepath.FromSlash(p.Overlay), kustomize.FileNames()[0])
	}
	if o.DryRun {
		fmt.Fprint(g.streams.Out, text)
		if kfile != "" {
			fmt.Fprintf(g.streams.Out, "\n# and %s:\n%s", kfile, p.NewKustomization)
		}
		return nil
	}
	if kfile != "" {
		if err := writeNew(kfile, p.NewKustomization); err != nil {
			return err
		}
		fmt.Fprintf(g.streams.Err, "wrote %s (the manifests of %s)\n", kfile, p.Overlay)
	}
	if err := writeNew(target, text); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Err, "wrote %s: %d artifacts, overlay %s; next: devloop dev\n", g.File, len(p.Artifacts), p.Overlay)
	return nil
}

// writeNew creates path with content, refusing to replace a file.
func writeNew(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return usageErrorf("%s already exists: devloop init never overwrites it", path)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
