package loop

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"go.uber.org/zap"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"

	"github.com/devloop-dev/devloop/internal/buildcontext"
	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/fspath"
	"github.com/devloop-dev/devloop/internal/kustomize"
	"github.com/devloop-dev/devloop/internal/watch"
)

// startWatcher watches the current configuration's sources, manifests and
// devloop.yaml, sending change sets to out, and returns a stop function
// that waits for the watcher to end.
func (l *Loop) startWatcher(ctx context.Context, out chan<- watch.ChangeSet) (func(), error) {
	cfg := l.runner.Config()
	w := l.opts.NewWatcher(l.log.Named("watch"), cfg.Dev.QuietPeriod)
	wctx, cancel := context.WithCancel(ctx)
	ended := make(chan error, 1)
	go func() { ended <- w.Run(wctx, rootsOf(cfg), out) }()
	select {
	case <-w.Ready():
	case err := <-ended:
		cancel()
		if err != nil {
			return nil, err
		}
		return func() {}, nil
	}
	return func() {
		cancel()
		if err := <-ended; err != nil && !errors.Is(err, context.Canceled) {
			l.log.Warn("watcher ended", zap.Error(err))
		}
	}, nil
}

// rootsOf lists what to watch: each artifact context (minus what its
// .dockerignore excludes), the kustomize tree and devloop.yaml.
func rootsOf(cfg *config.Config) []watch.Root {
	roots := []watch.Root{{Dir: cfg.File}}
	for _, a := range cfg.Build.Artifacts {
		r := watch.Root{Dir: a.ContextDir}
		if bc, err := buildcontext.Load(a.ContextDir, a.DockerfilePath); err == nil {
			r.Ignore = bc.Ignore
		}
		roots = append(roots, r)
	}
	for _, d := range manifestDirs(cfg) {
		roots = append(roots, watch.Root{Dir: d})
	}
	return roots
}

// manifestDirs lists the directories whose files make the manifests: the
// kustomize tree, each chart and its values files outside it.
func manifestDirs(cfg *config.Config) []string {
	var dirs []string
	if cfg.Deploy.Kustomize.Dir != "" {
		dirs = kustomize.Dirs(cfg.Deploy.Kustomize.Dir)
	}
	for _, hr := range cfg.Deploy.Helm.Releases {
		dirs = append(dirs, hr.ChartDir)
		for _, f := range hr.ValuesPaths {
			if !fspath.Within(f, hr.ChartDir) {
				dirs = append(dirs, f)
			}
		}
	}
	return dirs
}

// isTransient reports whether a cycle failed because a component went away
// (API server, Docker Engine) rather than because of the user's change: the
// loop then retries on its own.
func isTransient(err error) bool {
	var ne net.Error
	switch {
	case err == nil:
		return false
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &ne), utilnet.IsConnectionRefused(err), utilnet.IsProbableEOF(err):
		return true
	case apierrors.IsServiceUnavailable(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsTooManyRequests(err), apierrors.IsInternalError(err):
		return true
	}
	return false
}
