package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/client"
	"go.uber.org/zap"
)

// PermissionError says devloop may not use a containerd socket.
type PermissionError struct {
	Address string
	Err     error
}

func (e *PermissionError) Error() string {
	owner := ""
	if fi, err := os.Stat(e.Address); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			owner = fmt.Sprintf(" (owned by uid %d, gid %d, mode %v)", st.Uid, st.Gid, fi.Mode().Perm())
		}
	}
	return fmt.Sprintf("no permission to use containerd at %s%s: %v. devloop imports images there as your user. "+
		"Either give your user access to the socket, e.g. `sudo chgrp $(id -gn) %s && sudo chmod g+rw %s` "+
		"(k3s makes the socket anew when it restarts), or run devloop as root with your own configuration: "+
		"`sudo env KUBECONFIG=${KUBECONFIG:-$HOME/.kube/config} DOCKER_CONFIG=${DOCKER_CONFIG:-$HOME/.docker} devloop ...` "+
		"(a plain sudo reads root's kubeconfig and docker config, not yours), or set registry in devloop.yaml to push to a registry the cluster pulls from",
		e.Address, owner, e.Err, e.Address, e.Address)
}

func (e *PermissionError) Unwrap() error { return e.Err }

// Containerd imports images into a containerd on this machine through its
// socket with `ctr` (the project's test cluster, bare k3s).
type Containerd struct {
	addr   string
	engine Engine
	k3s    bool
	log    *zap.Logger
	images *containerdImages
	exp    *exporter
}

// NewContainerd returns a deliverer into the containerd at addr, namespace
// k8s.io. With k3s set, `k3s ctr` is used when no `ctr` is on PATH.
func NewContainerd(addr string, engine Engine, k3s bool, log *zap.Logger) *Containerd {
	return &Containerd{addr: addr, engine: engine, k3s: k3s, log: log, images: &containerdImages{addr: addr},
		exp: &exporter{engine: engine}}
}

// ForPlatforms sets the platforms of the cluster's nodes (os/arch[/variant]):
// with one, that is the platform imported from an engine with the
// containerd image store. It returns c.
func (c *Containerd) ForPlatforms(platforms []string) *Containerd {
	c.exp.nodePlatforms = platforms
	return c
}

// Close releases the connections to containerd's API and the engine's.
func (c *Containerd) Close() error { return errors.Join(c.images.close(), c.exp.close()) }

// Method implements Deliverer.
func (c *Containerd) Method() string { return "containerd import (" + c.addr + ")" }

func (c *Containerd) ctr(ctx context.Context, args ...string) (*exec.Cmd, error) {
	full := append([]string{"--address", c.addr, "--namespace", "k8s.io"}, args...)
	if p, err := exec.LookPath("ctr"); err == nil {
		return exec.CommandContext(ctx, p, full...), nil
	}
	if c.k3s {
		if p, err := exec.LookPath("k3s"); err == nil {
			return exec.CommandContext(ctx, p, append([]string{"ctr"}, full...)...), nil
		}
	}
	return nil, fmt.Errorf("importing into containerd needs the ctr command (Debian/Ubuntu: apt-get install containerd) or k3s on PATH")
}

// checkSocket dials the socket to turn permission and absence into clear errors.
func (c *Containerd) checkSocket() error {
	conn, err := net.DialTimeout("unix", c.addr, 2*time.Second)
	if err == nil {
		return conn.Close()
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) {
		return &PermissionError{Address: c.addr, Err: err}
	}
	return fmt.Errorf("containerd at %s does not answer (is the cluster running?): %w", c.addr, err)
}

func (c *Containerd) run(cmd *exec.Cmd) ([]byte, error) {
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(strings.ToLower(msg), "permission denied") {
			return nil, &PermissionError{Address: c.addr, Err: errors.New(msg)}
		}
		return nil, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, msg)
	}
	return out, nil
}

// Present implements Deliverer: containerd's images service is asked for
// the name; when its API does not answer, `ctr images ls -q name==REF`.
// When the engine has the image too, it must be the same image (sameImage:
// either ID scheme).
func (c *Containerd) Present(ctx context.Context, ref string) (bool, error) {
	full, err := NormalizeRef(ref)
	if err != nil {
		return false, err
	}
	if err := c.checkSocket(); err != nil {
		return false, err
	}
	target, ok, err := c.images.target(ctx, full)
	if err == nil {
		if !ok {
			return false, nil
		}
		return c.sameAsEngine(ctx, ref, target)
	}
	c.log.Debug("containerd API lookup failed; asking ctr", zap.Error(err))
	cmd, err := c.ctr(ctx, "images", "ls", "-q", "name=="+full)
	if err != nil {
		return false, err
	}
	out, err := c.run(cmd)
	if err != nil {
		return false, fmt.Errorf("listing images in containerd: %w", err)
	}
	return listed(out, full), nil
}

// sameAsEngine reports whether the image containerd names target is the
// engine's ref; true when the engine lacks ref (nothing to compare: the
// cluster's copy is what will run).
func (c *Containerd) sameAsEngine(ctx context.Context, ref, target string) (bool, error) {
	if c.engine == nil {
		return true, nil
	}
	x, err := c.exp.plan(ctx, ref)
	if err != nil {
		if client.IsErrNotFound(err) {
			return true, nil
		}
		return false, err
	}
	if !sameImage(x, target) {
		c.log.Debug("the cluster's image is another one under the same name", zap.String("ref", ref),
			zap.String("engine", x.id), zap.String("containerd", target))
		return false, nil
	}
	return true, nil
}

// listed reports whether `ctr images ls -q` output names ref.
func listed(out []byte, ref string) bool {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(l) == ref {
			return true
		}
	}
	return false
}

// Deliver implements Deliverer: the engine's image archive streams into
// `ctr images import -`, with no temporary file, leaving out the blobs the
// cluster's containerd already has (a one-line change sends its one new
// layer, the manifest, config and index).
func (c *Containerd) Deliver(ctx context.Context, ref string) (Report, error) {
	start := time.Now()
	rep := Report{Ref: ref, Method: c.Method()}
	ok, err := c.Present(ctx, ref)
	if err != nil {
		return rep, err
	}
	if ok {
		rep.Skipped, rep.Duration = true, time.Since(start)
		rep.Message = "already in the cluster's containerd"
		return rep, nil
	}
	x, err := c.exp.plan(ctx, ref)
	if err != nil {
		return rep, err
	}
	st, err := c.importArchive(ctx, x, c.have)
	if err != nil && st.Skipped > 0 && !errors.Is(err, context.Canceled) {
		// A blob containerd listed may have gone (garbage collection) before
		// the importer read it: once more with every blob.
		c.log.Warn("import without the blobs containerd has failed; sending the whole image", zap.Error(err))
		var again archiveStats
		again, err = c.importArchive(ctx, x, nil)
		again.Sent += st.Sent
		st = again
	}
	rep.Bytes = st.Sent
	if err != nil {
		return rep, fmt.Errorf("importing %s into containerd: %w", ref, x.importError(err, ""))
	}
	full, _ := NormalizeRef(ref)
	if ok, err := c.Present(ctx, ref); err != nil || !ok {
		return rep, fmt.Errorf("importing %s into containerd: %s not listed afterwards (%v)", ref, full, err)
	}
	rep.Duration = time.Since(start)
	rep.Message = fmt.Sprintf("imported %s (%s) into %s: %s", full, x.platform, c.addr, st)
	c.log.Info("delivered", zap.String("ref", ref), zap.String("method", rep.Method),
		zap.Int64("bytes", rep.Bytes), zap.Int64("archive_bytes", st.Read), zap.Int("blobs_skipped", st.Skipped),
		zap.Duration("duration", rep.Duration))
	return rep, nil
}

// have asks containerd's content service for a blob; when it does not
// answer, the blob is sent.
func (c *Containerd) have(ctx context.Context, digest string) (bool, error) {
	ok, err := c.images.hasBlob(ctx, digest)
	if err != nil {
		c.log.Debug("containerd content lookup failed; sending the blob", zap.String("digest", digest), zap.Error(err))
		return false, nil
	}
	return ok, nil
}

// importArchive streams the engine's archive of x through filterArchive
// (every blob when have is nil) into `ctr images import`.
func (c *Containerd) importArchive(ctx context.Context, x export, have haveBlob) (archiveStats, error) {
	if have == nil {
		have = blobSet(nil)
	}
	cmd, err := c.ctr(ctx, x.importArgs()...)
	if err != nil {
		return archiveStats{}, err
	}
	r, wait, err := c.exp.archive(ctx, x, have, c.log)
	if err != nil {
		return archiveStats{}, err
	}
	counter := &countingReader{r: r}
	cmd.Stdin = counter
	_, err = c.run(cmd)
	_ = r.Close()
	st, ferr := wait()
	st.Sent = counter.n // what ctr read, tar headers included
	return st, archiveError(err, ferr)
}
