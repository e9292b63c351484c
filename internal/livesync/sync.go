// Package livesync copies changed files into the running containers of an image
// through the exec API (a tar stream into `tar xf - -C /`), with no rebuild
// and no redeploy.
package livesync

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Target names the containers to sync into.
type Target struct {
	// Namespace of the pods.
	Namespace string
	// Selector of the pods (devloop's labels).
	Selector labels.Selector
	// Image is the repository name; containers whose image repository
	// equals it are synced.
	Image string
	// After are commands run in each container once its files are synced
	// (devloop.yaml's sync hooks), in order; a failing one fails the sync.
	After []Command
	// Helper, when set, is the path of devloop's helper in the containers:
	// it receives the files (no tar needed in the image) and deletes them.
	Helper string
	// Restart restarts the containers' process after the copy (through
	// the helper, which must be set).
	Restart bool
}

// Command is a command run in a container after a sync.
type Command struct {
	Args    []string
	Timeout time.Duration
}

// File is one change to sync.
type File struct {
	// Local is the absolute path of the file on this machine.
	Local string
	// Dest is the absolute path in the container.
	Dest string
	// Delete removes Dest instead of copying Local.
	Delete bool
}

// Result counts what a Sync did.
type Result struct {
	// Pods is the number of pods synced into.
	Pods int
	// Files is the number of files copied or deleted (once per change, not
	// per container).
	Files int
	// Bytes is the number of tar bytes sent, summed over containers.
	Bytes int64
}

// ErrNoTar is wrapped by Sync's error when a container has no tar.
var ErrNoTar = errors.New("live sync needs tar in the image")

// execer runs a command in a container with stdin.
type execer interface {
	Exec(ctx context.Context, namespace, pod, container string, cmd []string, stdin func(w *countingWriter) error) (stderr string, err error)
}

// Syncer copies files into running containers.
type Syncer struct {
	client kubernetes.Interface
	exec   execer
	log    *zap.Logger
	// parallel bounds the containers synced at once.
	parallel int
}

// New returns a Syncer; cfg must be the config client was made from.
func New(cfg *rest.Config, client kubernetes.Interface, log *zap.Logger) *Syncer {
	return &Syncer{client: client, exec: &spdyExecer{cfg: cfg, client: client}, log: log, parallel: 8}
}

// container is a container to sync into; ns is its pod's namespace (the
// target's namespace may be empty: the selector then finds the pods anywhere).
type container struct{ ns, pod, name string }

// Sync copies files (and deletes those marked Delete) in every running
// container of target, in parallel across pods.
func (s *Syncer) Sync(ctx context.Context, target Target, files []File) (Result, error) {
	var res Result
	for _, f := range files {
		if !path.IsAbs(f.Dest) {
			return res, fmt.Errorf("sync: destination %q is not absolute", f.Dest)
		}
		if !f.Delete && !strings.HasPrefix(f.Local, "/") {
			return res, fmt.Errorf("sync: local path %q is not absolute", f.Local)
		}
	}
	sel := target.Selector
	if sel == nil {
		sel = labels.Everything()
	}
	list, err := s.client.CoreV1().Pods(target.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return res, fmt.Errorf("listing pods to sync: %w", err)
	}
	if target.Restart && target.Helper == "" {
		return res, fmt.Errorf("sync: a restart needs devloop's helper in the containers")
	}
	targets := matchContainers(list.Items, target.Image)
	if len(targets) == 0 || len(files) == 0 {
		return res, nil
	}
	pods := map[string]bool{}
	for _, c := range targets {
		pods[c.pod] = true
	}
	var (
		mu    sync.Mutex
		bytes int64
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.parallel)
	for _, c := range targets {
		g.Go(func() error {
			n, err := s.syncContainer(gctx, c, target, files)
			mu.Lock()
			bytes += n
			mu.Unlock()
			if err != nil {
				return err
			}
			return s.after(gctx, c, target.After)
		})
	}
	err = g.Wait()
	res = Result{Pods: len(pods), Files: len(files), Bytes: bytes}
	if err != nil {
		return res, err
	}
	s.log.Debug("synced", zap.Int("pods", res.Pods), zap.Int("files", res.Files), zap.Int64("bytes", res.Bytes))
	return res, nil
}

// matchContainers returns the running containers of running, not deleted
// pods whose image repository is image.
func matchContainers(pods []corev1.Pod, image string) []container {
	var out []container
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
			continue
		}
		running := map[string]bool{}
		for _, cs := range p.Status.ContainerStatuses {
			running[cs.Name] = cs.State.Running != nil
		}
		for _, c := range p.Spec.Containers {
			if running[c.Name] && sameRepository(c.Image, image) {
				out = append(out, container{ns: p.Namespace, pod: p.Name, name: c.Name})
			}
		}
	}
	return out
}

// repository returns image without its tag and digest.
func repository(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}

// sameRepository compares repositories, treating docker.io/library/x,
// docker.io/x and x as equal.
func sameRepository(image, repo string) bool {
	return normalize(repository(image)) == normalize(repository(repo))
}

func normalize(repo string) string {
	repo = strings.TrimPrefix(repo, "docker.io/")
	repo = strings.TrimPrefix(repo, "index.docker.io/")
	return strings.TrimPrefix(repo, "library/")
}

// after runs the sync hooks in one container.
func (s *Syncer) after(ctx context.Context, c container, cmds []Command) error {
	for _, cmd := range cmds {
		cctx, cancel := context.WithTimeout(ctx, cmd.Timeout)
		stderr, err := s.exec.Exec(cctx, c.ns, c.pod, c.name, cmd.Args, nil)
		cancel()
		if err != nil {
			return fmt.Errorf("after-sync hook %q in %s/%s: %w%s", strings.Join(cmd.Args, " "), c.pod, c.name, err, detail(stderr))
		}
	}
	return nil
}
