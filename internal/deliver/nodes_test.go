package deliver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// fakeNode is a node container as execEngine plays it: its sh (or none)
// and the images and blobs of its containerd.
type fakeNode struct {
	noSh    bool  // sh is missing: the engine's exit 126
	shErr   error // sh is missing: the exec fails with this error
	images  map[string]bool
	blobs   map[string]bool
	execs   [][]string
	imports []map[string]string // the archives the node's import read
}

// execEngine is fakeEngine with node containers whose execs it runs,
// playing sh (the scripts of nodes.go) and ctr; ImageSave returns archive,
// an OCI layout of ref whose blobs are archiveBlobs.
type execEngine struct {
	fakeEngine
	t            *testing.T
	nodes        map[string]*fakeNode
	ref          string
	archive      []byte
	archiveBlobs []string
	saves        int

	mu      sync.Mutex
	running map[string]*fakeExec
}

type fakeExec struct {
	node  *fakeNode
	cmd   []string
	stdin bytes.Buffer
	wrote chan struct{} // closed when stdin ends (at once without stdin)
	once  sync.Once
	code  int
}

func (x *fakeExec) endStdin() { x.once.Do(func() { close(x.wrote) }) }

// newExecEngine returns an engine with a node container per name, each
// with the old layer (hexA) of web:v2, whose archive adds hexB.
func newExecEngine(t *testing.T, names ...string) *execEngine {
	e := &execEngine{t: t, nodes: map[string]*fakeNode{}, running: map[string]*fakeExec{}, ref: "docker.io/library/web:v2"}
	for i, name := range names {
		id := fmt.Sprintf("%02d%s", i, strings.Repeat("f", 62))
		e.containers = append(e.containers, container.Summary{ID: id, Names: []string{"/" + name}})
		e.nodes[id] = &fakeNode{images: map[string]bool{}, blobs: map[string]bool{"sha256:" + hexA: true}}
	}
	e.archive = tarOf(t,
		entry{"blobs/sha256/" + hexA, strings.Repeat("old layer ", 1000)},
		entry{"blobs/sha256/" + hexB, "new layer"},
		entry{"oci-layout", `{"imageLayoutVersion":"1.0.0"}`},
		entry{"index.json", `{"manifests":[]}`},
	)
	e.archiveBlobs = []string{"sha256:" + hexA, "sha256:" + hexB}
	return e
}

func (e *execEngine) node(i int) *fakeNode { return e.nodes[e.containers[i].ID] }

func (e *execEngine) Info(context.Context) (system.Info, error) {
	return system.Info{Driver: "overlay2"}, nil
}

func (e *execEngine) ImageInspect(context.Context, string, ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{ID: "sha256:cfg", Os: "linux", Architecture: "amd64"}, nil
}

func (e *execEngine) ImageSave(context.Context, []string, ...client.ImageSaveOption) (io.ReadCloser, error) {
	e.saves++
	return io.NopCloser(bytes.NewReader(e.archive)), nil
}

func (e *execEngine) ContainerExecCreate(_ context.Context, id string, opts container.ExecOptions) (container.ExecCreateResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	node := e.nodes[id]
	node.execs = append(node.execs, opts.Cmd)
	x := &fakeExec{node: node, cmd: opts.Cmd, wrote: make(chan struct{})}
	if !opts.AttachStdin {
		x.endStdin()
	}
	execID := fmt.Sprintf("exec-%d", len(e.running))
	e.running[execID] = x
	return container.ExecCreateResponse{ID: execID}, nil
}

func (e *execEngine) ContainerExecAttach(_ context.Context, execID string, _ container.ExecAttachOptions) (types.HijackedResponse, error) {
	e.mu.Lock()
	x := e.running[execID]
	e.mu.Unlock()
	if x.cmd[0] == "sh" && x.node.shErr != nil {
		return types.HijackedResponse{}, x.node.shErr
	}
	return types.HijackedResponse{Conn: &fakeConn{x: x}, Reader: bufio.NewReader(&outputReader{e: e, x: x})}, nil
}

func (e *execEngine) ContainerExecInspect(_ context.Context, execID string) (container.ExecInspect, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return container.ExecInspect{ExecID: execID, ExitCode: e.running[execID].code}, nil
}

// fakeConn takes an exec's stdin.
type fakeConn struct {
	net.Conn
	x *fakeExec
}

func (c *fakeConn) Write(p []byte) (int, error) { return c.x.stdin.Write(p) }
func (c *fakeConn) CloseWrite() error           { c.x.endStdin(); return nil }
func (c *fakeConn) Close() error                { c.x.endStdin(); return nil }

// outputReader runs the exec when its stdin has ended and returns its
// output, multiplexed as the engine sends it.
type outputReader struct {
	e   *execEngine
	x   *fakeExec
	out *bytes.Reader
}

func (r *outputReader) Read(p []byte) (int, error) {
	if r.out == nil {
		<-r.x.wrote
		stdout, stderr, code := r.e.run(r.x.node, r.x.cmd, r.x.stdin.Bytes())
		var buf bytes.Buffer
		_, _ = stdcopy.NewStdWriter(&buf, stdcopy.Stdout).Write([]byte(stdout))
		if stderr != "" {
			_, _ = stdcopy.NewStdWriter(&buf, stdcopy.Stderr).Write([]byte(stderr))
		}
		r.e.mu.Lock()
		r.x.code = code
		r.e.mu.Unlock()
		r.out = bytes.NewReader(buf.Bytes())
	}
	return r.out.Read(p)
}

func (e *execEngine) run(node *fakeNode, cmd []string, stdin []byte) (string, string, int) {
	switch {
	case cmd[0] == "sh" && node.noSh:
		return `OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown` + "\r\n", "", 126
	case cmd[0] == "sh":
		return e.sh(node, cmd[2], cmd[4:], stdin)
	case cmd[0] == "ctr" && cmd[1] == "--namespace" && cmd[2] == "k8s.io":
		return e.ctr(node, cmd[3:], stdin)
	}
	return "", fmt.Sprintf("%s: not found", cmd[0]), 127
}

// sh plays the scripts of nodes.go; args are $1 and on.
func (e *execEngine) sh(node *fakeNode, script string, args []string, stdin []byte) (string, string, int) {
	first, then := []string{"images", "ls", "-q", "name==" + args[0]}, []string{"content", "ls", "-q"}
	switch script {
	case importScript:
		first, then = args[1:], []string{"images", "ls", "-q", "name==" + args[0]}
	case lookScript:
	default:
		return "", "sh: cannot play this script", 2
	}
	out, errOut, code := e.ctr(node, first, stdin)
	if code != 0 {
		return out, errOut, code
	}
	if script == lookScript && node.images[args[0]] {
		return out + mark + "\n", errOut, 0
	}
	out2, errOut2, code := e.ctr(node, then, nil)
	return out + mark + "\n" + out2, errOut + errOut2, code
}

// ctr plays ctr -n k8s.io: an import fails when a blob of the image is
// neither in the archive nor in the node.
func (e *execEngine) ctr(node *fakeNode, args []string, stdin []byte) (string, string, int) {
	switch cmd := strings.Join(args, " "); {
	case strings.HasPrefix(cmd, "images ls -q name=="):
		if node.images[strings.TrimPrefix(cmd, "images ls -q name==")] {
			return strings.TrimPrefix(cmd, "images ls -q name==") + "\n", "", 0
		}
		return "", "", 0
	case cmd == "content ls -q":
		var out strings.Builder
		for d := range node.blobs {
			out.WriteString(d + "\n")
		}
		return out.String(), "", 0
	case cmd == "images import --platform linux/amd64 -":
		return e.importArchive(node, stdin)
	}
	return "", "ctr: unknown command " + strings.Join(args, " "), 1
}

func (e *execEngine) importArchive(node *fakeNode, stdin []byte) (string, string, int) {
	got := names(e.t, stdin)
	node.imports = append(node.imports, got)
	for _, d := range e.archiveBlobs {
		if _, ok := got["blobs/sha256/"+strings.TrimPrefix(d, "sha256:")]; !ok && !node.blobs[d] {
			return "", "ctr: content digest " + d + ": not found\n", 1
		}
	}
	for _, d := range e.archiveBlobs {
		node.blobs[d] = true
	}
	node.images[e.ref] = true
	return "unpacking " + e.ref + " (sha256:idx)...done\n", "", 0
}

func kindNodes(e *execEngine, log *zap.Logger) *Nodes {
	return NewNodes(NodeSelector{Label: "io.x-k8s.kind.cluster", Cluster: "dev", Flavour: "kind"}, e, log)
}

// ran returns what the node's execs ran, one entry per exec (for ctr its
// verb, for sh which script).
func (n *fakeNode) ran() []string {
	var out []string
	for _, cmd := range n.execs {
		switch {
		case cmd[0] == "sh" && cmd[2] == lookScript:
			out = append(out, "sh:look")
		case cmd[0] == "sh" && cmd[2] == importScript:
			out = append(out, "sh:import")
		default:
			out = append(out, strings.Join(cmd[3:5], " "))
		}
	}
	return out
}

func wantRan(t *testing.T, name string, n *fakeNode, want ...string) {
	t.Helper()
	if got := n.ran(); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("%s ran %d execs %v, want %d: %v", name, len(got), got, len(want), want)
	}
}

// A changed image after a Present that saw it absent: the look Present
// ran, and one exec that imports and lists, per node; the blob the node
// has stays out of the archive; the ref reaches sh as an argument.
func TestNodesChangedImageTwoExecsPerNode(t *testing.T) {
	ctx := context.Background()
	e := newExecEngine(t, "dev-control-plane", "dev-worker")
	n := kindNodes(e, zaptest.NewLogger(t))
	if ok, err := n.Present(ctx, "web:v2"); err != nil || ok {
		t.Fatalf("Present = %v, %v; want absent", ok, err)
	}
	if got := e.node(0).execs[0]; strings.Join(got, "|") != "sh|-c|"+lookScript+"|sh|docker.io/library/web:v2" {
		t.Errorf("look ran %q", got)
	}
	rep, err := n.Deliver(ctx, "web:v2")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped || rep.Message != "imported docker.io/library/web:v2 into dev-control-plane, dev-worker" {
		t.Fatalf("report %+v", rep)
	}
	wantRan(t, "the first node", e.node(0), "sh:look", "sh:import")
	wantRan(t, "the second node", e.node(1), "sh:look", "sh:import")
	for i := range 2 {
		imp := e.node(i).imports
		if _, sent := imp[0]["blobs/sha256/"+hexA]; len(imp) != 1 || sent || imp[0]["blobs/sha256/"+hexB] != "new layer" {
			t.Errorf("node %d imported %v, want the new layer without the old", i, imp)
		}
	}
	if rep.Bytes == 0 || rep.Bytes > 8192 {
		t.Errorf("sent %d bytes, want the small entries only", rep.Bytes)
	}
	// Delivered: one look per node, nothing moves.
	rep, err = n.Deliver(ctx, "web:v2")
	if err != nil || !rep.Skipped {
		t.Fatalf("second delivery %+v, %v", rep, err)
	}
	wantRan(t, "the first node", e.node(0), "sh:look", "sh:import", "sh:look")
}

// Present, then Deliver once what Present saw has aged past lookTTL: Deliver
// looks again (3 execs).
func TestNodesExpiredLookLooksAgain(t *testing.T) {
	ctx := context.Background()
	e := newExecEngine(t, "dev-control-plane")
	n := kindNodes(e, zaptest.NewLogger(t))
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	n.now = func() time.Time { return now }
	if ok, err := n.Present(ctx, "web:v2"); err != nil || ok {
		t.Fatalf("Present = %v, %v", ok, err)
	}
	now = now.Add(lookTTL)
	if _, err := n.Deliver(ctx, "web:v2"); err != nil {
		t.Fatal(err)
	}
	wantRan(t, "the node", e.node(0), "sh:look", "sh:look", "sh:import")
	// What Present saw serves one Deliver only.
	if ok, err := n.Present(ctx, "web:v3"); err != nil || ok {
		t.Fatalf("Present = %v, %v", ok, err)
	}
	if _, ok := n.recall(nodeContainer{id: e.containers[0].ID}, "docker.io/library/web:v3"); !ok {
		t.Error("what Present saw is not recalled")
	}
	if _, ok := n.recall(nodeContainer{id: e.containers[0].ID}, "docker.io/library/web:v3"); ok {
		t.Error("what Present saw is recalled twice")
	}
}

// The blobs Present listed went away before Deliver (the kubelet's image
// collection): the import without them fails, the whole image goes again.
func TestNodesStaleBlobsSendWhole(t *testing.T) {
	ctx := context.Background()
	e := newExecEngine(t, "dev-control-plane")
	n := kindNodes(e, zaptest.NewLogger(t))
	if ok, err := n.Present(ctx, "web:v2"); err != nil || ok {
		t.Fatalf("Present = %v, %v", ok, err)
	}
	delete(e.node(0).blobs, "sha256:"+hexA)
	rep, err := n.Deliver(ctx, "web:v2")
	if err != nil {
		t.Fatal(err)
	}
	wantRan(t, "the node", e.node(0), "sh:look", "sh:import", "sh:import")
	if imp := e.node(0).imports; len(imp) != 2 || len(imp[1]) != 4 || rep.Bytes < 10000 {
		t.Errorf("imports %v, %d bytes; want the whole image the second time", imp, rep.Bytes)
	}
}

// A node without sh (the engine's exit 126, or an exec error): ctr runs
// alone, in an exec each, and sh is not tried again in that node.
func TestNodesWithoutShell(t *testing.T) {
	for name, set := range map[string]func(*fakeNode){
		"exit 126":   func(n *fakeNode) { n.noSh = true },
		"exec error": func(n *fakeNode) { n.shErr = errors.New(`exec: "sh": executable file not found in $PATH`) },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e := newExecEngine(t, "k3d-dev-server-0")
			set(e.node(0))
			n := kindNodes(e, zaptest.NewLogger(t))
			if ok, err := n.Present(ctx, "web:v2"); err != nil || ok {
				t.Fatalf("Present = %v, %v", ok, err)
			}
			rep, err := n.Deliver(ctx, "web:v2")
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := n.Present(ctx, "web:v2"); err != nil || !ok {
				t.Fatalf("Present after the import = %v, %v", ok, err)
			}
			wantRan(t, "the node", e.node(0), "sh:look", "images ls", "content ls", "images import", "images ls", "images ls")
			if _, sent := e.node(0).imports[0]["blobs/sha256/"+hexA]; sent || rep.Skipped {
				t.Errorf("report %+v, imports %v; want the new layer only", rep, e.node(0).imports)
			}
		})
	}
}

// An image every node has: one exec per node, nothing exported.
func TestNodesPresentImageOneExec(t *testing.T) {
	ctx := context.Background()
	e := newExecEngine(t, "dev-control-plane")
	e.node(0).images[e.ref] = true
	n := kindNodes(e, zaptest.NewLogger(t))
	rep, err := n.Deliver(ctx, "web:v2")
	if err != nil || !rep.Skipped || rep.Bytes != 0 || e.saves != 0 {
		t.Fatalf("report %+v, %v, %d saves", rep, err, e.saves)
	}
	wantRan(t, "the node", e.node(0), "sh:look")
	if ok, err := n.Present(ctx, "web:v2"); err != nil || !ok {
		t.Fatalf("Present = %v, %v", ok, err)
	}
	wantRan(t, "the node", e.node(0), "sh:look", "sh:look")
}

// An import ctr refuses keeps its message: the node and image, and the
// engine's store when content is missing; the import exec lists nothing.
func TestNodesImportErrorThroughShell(t *testing.T) {
	ctx := context.Background()
	e := newExecEngine(t, "dev-control-plane")
	e.node(0).blobs = map[string]bool{}
	e.archive = tarOf(t, entry{"blobs/sha256/" + hexB, "new layer"}, entry{"index.json", `{"manifests":[]}`})
	n := kindNodes(e, zaptest.NewLogger(t))
	_, err := n.Deliver(ctx, "web:v2")
	var se *ImageStoreError
	if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "importing web:v2 into kind node dev-control-plane: ") ||
		!strings.Contains(err.Error(), "ctr exited 1: ctr: content digest sha256:"+hexA+": not found") {
		t.Fatalf("err = %v", err)
	}
	wantRan(t, "the node", e.node(0), "sh:look", "sh:import")
}

func TestNoShell(t *testing.T) {
	for _, tc := range []struct {
		out, errOut string
		code        int
		err         error
		want        bool
	}{
		{`OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown`, "", 126, nil, true},
		{"", "", 127, nil, true},
		{"", "", 0, errors.New(`exec: "sh": executable file not found in $PATH`), true},
		{"", "", 0, errors.New("attaching to exec: connection refused"), false},
		{"", "", 0, errors.New("creating exec: dial unix /run/docker.sock: connect: no such file or directory"), false},
		{"", "sh: 1: ctr: not found", 127, nil, false},
		{mark + "\n", "", 127, nil, false},
		{"", "ctr: failed to dial: no such file or directory", 1, nil, false},
	} {
		if got := noShell(tc.out, tc.errOut, tc.code, tc.err); got != tc.want {
			t.Errorf("noShell(%q, %q, %d, %v) = %v, want %v", tc.out, tc.errOut, tc.code, tc.err, got, tc.want)
		}
	}
}

// The mark and the listings: a listing that fails after a good import is
// the listing's error, not the import's.
func TestImportResult(t *testing.T) {
	code, after := importResult(true, "unpacking x...done\n"+mark+"\ndocker.io/library/x:t\n", "", 0)
	if code != 0 || after == nil || !listed([]byte(after.out), "docker.io/library/x:t") {
		t.Fatalf("%d %+v", code, after)
	}
	if code, after = importResult(true, "", "ctr: boom", 1); code != 1 || after != nil {
		t.Fatalf("failed import: %d %+v", code, after)
	}
	if code, after = importResult(true, "done\n"+mark+"\n", "ctr: ls failed", 1); code != 0 || after == nil || after.code != 1 {
		t.Fatalf("failed listing: %d %+v", code, after)
	}
	if code, after = importResult(false, "done\n", "", 0); code != 0 || after != nil {
		t.Fatalf("without sh: %d %+v", code, after)
	}
}
