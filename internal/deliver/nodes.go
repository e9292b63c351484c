package deliver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
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
	// now is the clock of seen (time.Now; tests move it).
	now func() time.Time

	mu sync.Mutex
	// seen is what Present saw in a node lacking an image, for the Deliver
	// after the build (lookTTL).
	seen map[seenKey]look
	// shellless are the node containers (IDs) without sh, whose ctr
	// commands run an exec each.
	shellless map[string]bool
}

// NewNodes returns a deliverer into the node containers sel selects.
func NewNodes(sel NodeSelector, engine Engine, log *zap.Logger) *Nodes {
	return &Nodes{sel: sel, engine: engine, log: log, exp: &exporter{engine: engine},
		now: time.Now, seen: map[seenKey]look{}, shellless: map[string]bool{}}
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
	return n.listedIn(node, full, listing{out: out, errOut: errOut, code: code})
}

// listedIn reports whether the output of `ctr images ls -q name==FULL` in
// node names full.
func (n *Nodes) listedIn(node nodeContainer, full string, l listing) (bool, error) {
	if l.code != 0 {
		return false, fmt.Errorf("listing images in %s node %s: ctr exited %d: %s", n.sel.Flavour, node.name, l.code, strings.TrimSpace(l.errOut))
	}
	return listed([]byte(l.out), full), nil
}

// Present implements Deliverer: true when every node has the image. What
// it saw in a node lacking the image serves the Deliver after the build.
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
		lk, err := n.lookIn(ctx, node, full)
		if err != nil {
			return false, err
		}
		if !lk.present {
			n.remember(node, full, lk)
			return false, nil
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
		lk, ok := n.recall(node, full)
		if !ok {
			if lk, err = n.lookIn(ctx, node, full); err != nil {
				return rep, err
			}
		}
		if lk.present {
			continue
		}
		if x.ref == "" {
			if x, err = n.exp.plan(ctx, ref); err != nil {
				return rep, err
			}
		}
		bytes, err := n.importInto(ctx, node, x, full, lk.blobs)
		rep.Bytes += bytes
		if err != nil {
			return rep, err
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
// import`, leaving out the blobs the look saw in the node's containerd;
// when that import fails having left some out (the list may be stale),
// once more whole. Then the node must list the image.
func (n *Nodes) importInto(ctx context.Context, node nodeContainer, x export, full string, blobs []string) (int64, error) {
	st, after, err := n.importArchive(ctx, node, x, full, blobSet(blobs))
	if err != nil && st.Skipped > 0 && ctx.Err() == nil {
		n.log.Warn("import without the blobs the node has failed; sending the whole image", zap.String("node", node.name), zap.Error(err))
		var again archiveStats
		again, after, err = n.importArchive(ctx, node, x, full, blobSet(nil))
		again.Sent += st.Sent
		st = again
	}
	if err != nil {
		return st.Sent, err
	}
	n.log.Debug("imported", zap.String("node", node.name), zap.Stringer("archive", st))
	return st.Sent, n.verify(ctx, node, x.ref, full, after)
}

// verify checks that node lists full after an import: in the listing the
// import exec printed, else (a node without sh) in an exec of its own.
func (n *Nodes) verify(ctx context.Context, node nodeContainer, ref, full string, after *listing) error {
	var ok bool
	var err error
	if after != nil {
		ok, err = n.listedIn(node, full, *after)
	} else {
		ok, err = n.presentIn(ctx, node, full)
	}
	if err != nil {
		return fmt.Errorf("importing %s into %s node %s: not listed afterwards: %w", ref, n.sel.Flavour, node.name, err)
	}
	if !ok {
		return fmt.Errorf("importing %s into %s node %s: not listed afterwards", ref, n.sel.Flavour, node.name)
	}
	return nil
}

// nodeBlobs lists the digests in the node's containerd (namespace k8s.io).
func (n *Nodes) nodeBlobs(ctx context.Context, node nodeContainer) ([]string, error) {
	out, errOut, code, err := n.exec(ctx, node.id, []string{"ctr", "--namespace", "k8s.io", "content", "ls", "-q"}, nil)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("ctr content ls exited %d: %s", code, strings.TrimSpace(errOut))
	}
	return strings.Fields(out), nil
}

// importCmd is the import exec's command: importScript through sh, or ctr
// alone in a node without sh.
func importCmd(shell bool, x export, full string) []string {
	if !shell {
		return append([]string{"ctr", "--namespace", "k8s.io"}, x.importArgs()...)
	}
	return append([]string{"sh", "-c", importScript, "sh", full}, x.importArgs()...)
}

// importResult splits the output of an import exec: the import's exit
// code, and the listing importScript printed after a good import (nil
// when there is none: verify then lists in an exec of its own).
func importResult(shell bool, out, errOut string, code int) (int, *listing) {
	if !shell {
		return code, nil
	}
	if _, rest, ok := strings.Cut(out, mark); ok {
		return 0, &listing{out: rest, errOut: errOut, code: code}
	}
	return code, nil
}

// importArchive streams the archive of x, without the blobs have reports,
// into the node's import; after is what the import exec listed afterwards.
func (n *Nodes) importArchive(ctx context.Context, node nodeContainer, x export, full string, have haveBlob) (st archiveStats, after *listing, err error) {
	r, wait, err := n.exp.archive(ctx, x, have, n.log)
	if err != nil {
		return archiveStats{}, nil, err
	}
	shell := n.hasShell(node)
	counter := &countingReader{r: r}
	out, errOut, code, err := n.exec(ctx, node.id, importCmd(shell, x, full), counter)
	_ = r.Close()
	st, ferr := wait()
	st.Sent = counter.n // what went through the exec, end-of-archive blocks included
	code, after = importResult(shell, out, errOut, code)
	if err == nil && code != 0 {
		err = fmt.Errorf("ctr exited %d: %s", code, strings.TrimSpace(errOut))
	}
	if err = archiveError(err, ferr); err != nil {
		return st, nil, fmt.Errorf("importing %s into %s node %s: %w", x.ref, n.sel.Flavour, node.name, x.importError(err, errOut))
	}
	return st, after, nil
}
