package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/devloop-dev/devloop/internal/build"
	"github.com/devloop-dev/devloop/internal/deliver"
	"github.com/devloop-dev/devloop/internal/docker"
	"github.com/devloop-dev/devloop/internal/kube"
)

// doctorOptions are the flags of `devloop doctor`.
type doctorOptions struct {
	g *globalOptions
	clusterFlags
	Builder string
}

func newDoctorCmd(g *globalOptions, runF func(context.Context, *doctorOptions) error) *cobra.Command {
	o := &doctorOptions{g: g}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the engine, buildx, the kube context and how images will reach the cluster",
		Long: `Check, one line each, what devloop needs: the Docker Engine and its image store, the
docker CLI's buildx plugin and builder, the kube context and whether devloop may deploy
to it, the detected cluster kind and delivery path, and the permissions on the sockets
that path uses. Each failing check says what to do. Exit status 1 when any check fails.`,
		Example: "  devloop doctor\n  devloop doctor --kube-context kind-dev",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(cmd.Context(), o)
			}
			return runDoctor(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Builder, "builder", "", "buildx builder to check (default: build.builder, else the current builder)")
	o.registerCluster(cmd)
	return cmd
}

// check is one line of the report.
type check struct {
	name, detail, fix string
	ok                bool
}

func runDoctor(ctx context.Context, o *doctorOptions) error {
	g := o.g
	override, err := o.override()
	if err != nil {
		return err
	}
	var checks []check
	add := func(c check) {
		checks = append(checks, c)
		mark := "ok  "
		if !c.ok {
			mark = "FAIL"
		}
		fmt.Fprintf(g.streams.Out, "%s %-10s %s\n", mark, c.name, c.detail)
		if !c.ok && c.fix != "" {
			fmt.Fprintf(g.streams.Out, "     %-10s → %s\n", "", c.fix)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	// The config, when there is one: allowContexts and the builder.
	var allowed []string
	builderName := o.Builder
	if _, err := os.Stat(g.File); err == nil {
		cfg, err := g.loadConfig()
		if err != nil {
			add(check{name: "config", detail: err.Error(), fix: "fix " + g.File + " (devloop config shows what was read)"})
		} else {
			add(check{name: "config", ok: true, detail: fmt.Sprintf("%s: %d artifacts, overlay %q, %d Helm releases", g.File, len(cfg.Build.Artifacts), cfg.Deploy.Kustomize.Path, len(cfg.Deploy.Helm.Releases))})
			allowed = cfg.AllowContexts
			if builderName == "" {
				builderName = cfg.Build.Builder
			}
		}
	}
	allowed = append(allowed, g.AllowContexts...)

	engineOK := doctorEngine(ctx, g.log.Named("docker"), add)
	if engineOK {
		doctorBuildx(ctx, g, builderName, add)
	}
	doctorCluster(ctx, g, allowed, override, add)

	failed := 0
	for _, c := range checks {
		if !c.ok {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	fmt.Fprintf(g.streams.Out, "all %d checks passed\n", len(checks))
	return nil
}

func doctorEngine(ctx context.Context, log *zap.Logger, add func(check)) bool {
	engine, ep, err := docker.New(ctx, log)
	if err != nil {
		add(check{name: "engine", detail: err.Error(),
			fix: "start Docker (Docker Desktop, `sudo systemctl start docker`, colima start…), or set DOCKER_HOST / `docker context use NAME`"})
		return false
	}
	defer engine.Close()
	info, err := engine.Info(ctx)
	if err != nil {
		add(check{name: "engine", detail: fmt.Sprintf("%s answers but `docker info` failed: %v", ep.Host, err), fix: "check the engine's logs"})
		return false
	}
	store := "graph driver " + info.Driver
	for _, kv := range info.DriverStatus {
		if kv[0] == "driver-type" && strings.Contains(kv[1], "snapshotter") {
			store = "containerd image store (" + info.Driver + ")"
		}
	}
	add(check{name: "engine", ok: true, detail: fmt.Sprintf("Docker Engine %s (API %s) at %s (%s), %s", info.ServerVersion, engine.ClientVersion(), ep.Host, ep.Source, store)})
	return true
}

func doctorBuildx(ctx context.Context, g *globalOptions, name string, add func(check)) {
	engine, ep, err := docker.New(ctx, g.log.Named("docker"))
	if err != nil {
		return
	}
	_ = engine.Close()
	b := build.NewBuilder(g.log.Named("build"), docker.MergeEnv(os.Environ(), ep.CommandEnv()))
	info, err := b.Inspect(ctx, name)
	if err != nil {
		add(check{name: "buildx", detail: err.Error(), fix: "install the buildx plugin (https://github.com/docker/buildx#installing) or pick a builder with --builder"})
		return
	}
	multi := "one platform per build (multi-platform builds need a builder with another driver: docker buildx create --use)"
	if info.MultiPlatform() {
		multi = "multi-platform builds"
	}
	add(check{name: "buildx", ok: true, detail: fmt.Sprintf("builder %s (driver %s, platforms %s): %s", info.Name, info.Driver, strings.Join(info.Platforms, ","), multi)})
}

func doctorCluster(ctx context.Context, g *globalOptions, allowed []string, override deliver.Override, add func(check)) {
	name, server, _, err := kube.Resolve(g.KubeContext)
	if err != nil {
		add(check{name: "context", detail: err.Error(), fix: "create a cluster (kind create cluster, k3d cluster create, …) or pick a context with --kube-context"})
		return
	}
	why, err := kube.CheckAllowed(name, server, allowed)
	if err != nil {
		add(check{name: "context", detail: err.Error()})
		return
	}
	add(check{name: "context", ok: true, detail: fmt.Sprintf("%s (%s): %s", name, server, why)})
	kc, err := kube.New(name)
	if err != nil {
		add(check{name: "cluster", detail: err.Error()})
		return
	}
	cl, err := deliver.Detect(ctx, kc.Clientset, deliver.Facts{KubeContext: kc.Context, ServerURL: kc.Server, Override: override})
	if err != nil {
		fix := "is the cluster running? (kubectl --context " + name + " get nodes)"
		var ue *deliver.UnknownClusterError
		if errors.As(err, &ue) {
			fix = "set registry in devloop.yaml, or --delivery"
		}
		add(check{name: "cluster", detail: err.Error(), fix: fix})
		return
	}
	add(check{name: "cluster", ok: true, detail: fmt.Sprintf("%s, nodes %s: %s", cl.Kind, strings.Join(cl.Platforms, ","), cl.Reason)})
	if cl.ContainerdAddress != "" {
		add(socketCheck(cl.ContainerdAddress))
	}
}

// socketCheck says whether this user may use a containerd socket.
func socketCheck(addr string) check {
	conn, err := net.DialTimeout("unix", addr, 2*time.Second)
	if err == nil {
		_ = conn.Close()
		return check{name: "socket", ok: true, detail: addr + ": this user may use it"}
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		perr := &deliver.PermissionError{Address: addr, Err: err}
		return check{name: "socket", detail: perr.Error()}
	}
	return check{name: "socket", detail: fmt.Sprintf("%s does not answer: %v", addr, err), fix: "is the cluster running on this machine?"}
}
