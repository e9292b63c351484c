package cli

import (
	"context"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/pipeline"
)

func newDebugCmd(g *globalOptions, runF func(context.Context, *devOptions) error) *cobra.Command {
	o := &devOptions{g: g, debug: &pipeline.DebugOptions{}}
	cmd := &cobra.Command{
		Use:   "debug [ARTIFACT...]",
		Short: "devloop dev with the built containers started under their runtime's debugger",
		Long: `devloop dev, with the containers of every artifact (or of the artifacts named, by image)
started under their runtime's debugger, nothing changed in the Dockerfile or the manifests:

  Go       dlv exec --headless --continue --accept-multiclient --api-version=2 (Delve;
           Debug Adapter Protocol and Delve's JSON-RPC on one port); the build gets
           SKAFFOLD_GO_GCFLAGS='all=-N -l' as a build argument
  Python   python -m debugpy --listen 0.0.0.0:PORT, for python SCRIPT, python -m MODULE,
           flask, gunicorn and uvicorn
  Node     node --inspect=0.0.0.0:PORT (NODE_OPTIONS for npm and yarn)

The runtime is detected from what the image runs (its command and environment), or named
in devloop.yaml with debug: {runtime: go|python|nodejs} on the artifact. A container whose
runtime is unknown is announced and runs undebugged. Delve and debugpy come from the
support image devloop-debug:1, copied into the pod by an init container; probes of
debugged containers are removed (a process on a breakpoint would fail them), and pod
templates carry Skaffold's debug.cloud.google.com/config annotation.

Each debug port is forwarded to 127.0.0.1 (the pod's port when free, else a free one) and
keeps its local port for the session, across rebuilds; a "debug" event names the
artifact, pod, container, runtime, protocol, address and localPort. Ctrl-C deletes what
devloop applied, as dev does.

--write-launch writes an attach configuration per debug port into the project's
.vscode/launch.json (named "devloop: ARTIFACT (CONTAINER)"; the file's other
configurations are kept, its comments are not): Go with substitutePath from the
artifact's context to the directory its Dockerfile compiles in, Python and Node with
the context mapped to the container's working directory.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.debug.Artifacts = args
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runDev(cmd.Context(), o)
		},
	}
	o.registerDev(cmd)
	cmd.Flags().BoolVar(&o.writeLaunch, "write-launch", false, "write attach configurations of the debug ports into .vscode/launch.json")
	return cmd
}

// checkDebugArtifacts refuses artifact names `devloop debug` was given
// that the configuration does not build.
func checkDebugArtifacts(cfg *config.Config, d *pipeline.DebugOptions) error {
	if d == nil {
		return nil
	}
	var images, unknown []string
	for _, a := range cfg.Build.Artifacts {
		images = append(images, a.Image)
	}
	for _, name := range d.Artifacts {
		if !slices.Contains(images, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		return usageErrorf("debug: %s: no such artifact in %s (artifacts: %s)", strings.Join(unknown, ", "), cfg.File, strings.Join(images, ", "))
	}
	return nil
}
