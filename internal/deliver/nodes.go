package deliver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stdcopy"
	"go.uber.org/zap"
)

// NodeSelector finds the node containers of a kind or k3d cluster.
type NodeSelector struct {
	// Label is the container label that carries the cluster name
	// (io.x-k8s.kind.cluster for kind, k3d.cluster for k3d).
	Label string
	// Cluster is the cluster name.
	Cluster string
	// Flavour names the tool for messages ("kind", "k3d").
	Flavour string
}

// Nodes imports images into the containerd of every node container of a
// kind or k3d cluster, through the Docker Engine's exec API.
type Nodes struct {
	sel    NodeSelector
	engine Engine
	log    *zap.Logger
	exp    *exporter
}

// NewNodes returns a deliverer into the node containers sel selects.
func NewNodes(sel NodeSelector, engine Engine, log *zap.Logger) *Nodes {
	return &Nodes{sel: sel, engine: engine, log: log, exp: &exporter{engine: engine}}
}

// ForPlatforms sets the platforms of the cluster's nodes, as
// Containerd.ForPlatforms does. It returns n.
func (n *Nodes) ForPlatforms(platforms []string) *Nodes {
	n.exp.nodePlatforms = platforms
	return n
}

// Close releases the connection to the engine's containerd.
func (n *Nodes) Close() error { return n.exp.close() }

// Method implements Deliverer.
func (n *Nodes) Method() string { return n.sel.Flavour + " node import" }

type nodeContainer struct{ id, name string }

// nodes lists the running node containers, leaving out load balancers,
// registries and tool containers.
func (n *Nodes) nodes(ctx context.Context) ([]nodeContainer, error) {
	list, err := n.engine.ContainerList(ctx, container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", n.sel.Label+"="+n.sel.Cluster)),
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s node containers: %w", n.sel.Flavour, err)
	}
	var out []nodeContainer
	for _, c := range list {
		if c.Labels["io.x-k8s.kind.role"] == "external-load-balancer" {
			continue
		}
		if role, ok := c.Labels["k3d.role"]; ok && role != "server" && role != "agent" {
			continue
		}
		name := c.ID[:min(12, len(c.ID))]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, nodeContainer{id: c.ID, name: name})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no running %s node container with label %s=%s in the engine: is the cluster running in this Docker Engine?",
			n.sel.Flavour, n.sel.Label, n.sel.Cluster)
	}
	return out, nil
}

// exec runs cmd in a container, streaming stdin into it, and returns its
// stdout, stderr and exit code.
func (n *Nodes) exec(ctx context.Context, id string, cmd []string, stdin io.Reader) (string, string, int, error) {
	created, err := n.engine.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: cmd, AttachStdin: stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return "", "", 0, fmt.Errorf("creating exec: %w", err)
	}
	resp, err := n.engine.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return "", "", 0, fmt.Errorf("attaching to exec: %w", err)
	}
	defer resp.Close()
	stop := context.AfterFunc(ctx, func() { _ = resp.Conn.Close() })
	defer stop()

	copyErr := make(chan error, 1)
	if stdin != nil {
		go func() {
			_, err := io.Copy(resp.Conn, stdin)
			if cerr := resp.CloseWrite(); err == nil {
				err = cerr
			}
			copyErr <- err
		}()
	} else {
		copyErr <- nil
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, resp.Reader); err != nil && ctx.Err() == nil {
		return "", "", 0, fmt.Errorf("reading exec output: %w", err)
	}
	if err := <-copyErr; err != nil {
		if ctx.Err() != nil {
			return "", "", 0, ctx.Err()
		}
		return stdout.String(), stderr.String(), 0, fmt.Errorf("streaming into exec: %w (stderr: %s)", err, strings.TrimSpace(stderr.String()))
	}
	if ctx.Err() != nil {
		return "", "", 0, ctx.Err()
	}
	for {
		insp, err := n.engine.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return "", "", 0, fmt.Errorf("inspecting exec: %w", err)
		}
		if !insp.Running {
			return stdout.String(), stderr.String(), insp.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return "", "", 0, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (n *Nodes) presentIn(ctx context.Context, node nodeContainer, full string) (bool, error) {
	out, errOut, code, err := n.exec(ctx, node.id, []string{"ctr", "--namespace", "k8s.io", "images", "ls", "-q", "name==" + full}, nil)
	if err != nil {
		return false, fmt.Errorf("listing images in %s node %s: %w", n.sel.Flavour, node.name, err)
	}
	if code != 0 {
		return false, fmt.Errorf("listing images in %s node %s: ctr exited %d: %s", n.sel.Flavour, node.name, code, strings.TrimSpace(errOut))
	}
	return listed([]byte(out), full), nil
}

// Present implements Deliverer: true when every node has the image.
func (n *Nodes) Present(ctx context.Context, ref string) (bool, error) {
	full, err := NormalizeRef(ref)
	if err != nil {
		return false, err
	}
	nodes, err := n.nodes(ctx)
	if err != nil {
		return false, err
	}
	for _, node := range nodes {
		ok, err := n.presentIn(ctx, node, full)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Deliver implements Deliverer: for each node lacking the image, the
// engine's image archive streams through the exec attach into
// `ctr images import -` inside the node container.
func (n *Nodes) Deliver(ctx context.Context, ref string) (Report, error) {
	start := time.Now()
	rep := Report{Ref: ref, Method: n.Method()}
	full, err := NormalizeRef(ref)
	if err != nil {
		return rep, err
	}
	nodes, err := n.nodes(ctx)
	if err != nil {
		return rep, err
	}
	var imported []string
	var x export // planned for the first node that lacks the image
	for _, node := range nodes {
		ok, err := n.presentIn(ctx, node, full)
		if err != nil {
			return rep, err
		}
		if ok {
			continue
		}
		if x.ref == "" {
			if x, err = n.exp.plan(ctx, ref); err != nil {
				return rep, err
			}
		}
		bytes, err := n.importInto(ctx, node, x)
		rep.Bytes += bytes
		if err != nil {
			return rep, err
		}
		if ok, err := n.presentIn(ctx, node, full); err != nil || !ok {
			return rep, fmt.Errorf("importing %s into %s node %s: not listed afterwards (%v)", ref, n.sel.Flavour, node.name, err)
		}
		imported = append(imported, node.name)
	}
	rep.Duration = time.Since(start)
	if len(imported) == 0 {
		rep.Skipped = true
		rep.Message = fmt.Sprintf("already on every %s node", n.sel.Flavour)
		return rep, nil
	}
	rep.Message = fmt.Sprintf("imported %s into %s", full, strings.Join(imported, ", "))
	n.log.Info("delivered", zap.String("ref", ref), zap.String("method", rep.Method),
		zap.Strings("nodes", imported), zap.Int64("bytes", rep.Bytes), zap.Duration("duration", rep.Duration))
	return rep, nil
}

// importInto streams the engine's archive of x into the node's `ctr images
// import`, leaving out the blobs the node's containerd lists (`ctr content
// ls`); when that import fails having left some out, once more whole.
func (n *Nodes) importInto(ctx context.Context, node nodeContainer, x export) (int64, error) {
	have, err := n.nodeBlobs(ctx, node)
	if err != nil {
		n.log.Debug("listing the node's blobs failed; sending the whole image", zap.String("node", node.name), zap.Error(err))
		have = blobSet(nil)
	}
	st, err := n.importArchive(ctx, node, x, have)
	if err != nil && st.Skipped > 0 && ctx.Err() == nil {
		n.log.Warn("import without the blobs the node has failed; sending the whole image", zap.String("node", node.name), zap.Error(err))
		var again archiveStats
		again, err = n.importArchive(ctx, node, x, blobSet(nil))
		again.Sent += st.Sent
		st = again
	}
	if err == nil {
		n.log.Debug("imported", zap.String("node", node.name), zap.Stringer("archive", st))
	}
	return st.Sent, err
}

// nodeBlobs lists the digests in the node's containerd (namespace k8s.io).
func (n *Nodes) nodeBlobs(ctx context.Context, node nodeContainer) (haveBlob, error) {
	out, errOut, code, err := n.exec(ctx, node.id, []string{"ctr", "--namespace", "k8s.io", "content", "ls", "-q"}, nil)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("ctr content ls exited %d: %s", code, strings.TrimSpace(errOut))
	}
	return blobSet(strings.Fields(out)), nil
}

func (n *Nodes) importArchive(ctx context.Context, node nodeContainer, x export, have haveBlob) (archiveStats, error) {
	r, wait, err := n.exp.archive(ctx, x, have, n.log)
	if err != nil {
		return archiveStats{}, err
	}
	counter := &countingReader{r: r}
	_, errOut, code, err := n.exec(ctx, node.id, append([]string{"ctr", "--namespace", "k8s.io"}, x.importArgs()...), counter)
	_ = r.Close()
	st, ferr := wait()
	st.Sent = counter.n // what went through the exec, end-of-archive blocks included
	if err == nil && code != 0 {
		err = fmt.Errorf("ctr exited %d: %s", code, strings.TrimSpace(errOut))
	}
	if err = archiveError(err, ferr); err != nil {
		return st, fmt.Errorf("importing %s into %s node %s: %w", x.ref, n.sel.Flavour, node.name, x.importError(err, errOut))
	}
	return st, nil
}
