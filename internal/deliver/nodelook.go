package deliver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// A look into a node: whether its containerd lists an image and, when it
// does not, the blobs it holds, in one exec through the node's sh (ctr alone
// in two where the node has none). What Present saw serves the Deliver
// after the build.

// lookTTL is how long what Present saw in a node lacking an image serves
// the Deliver after the build.
const lookTTL = 2 * time.Minute

// mark separates the two commands' outputs of a shell exec.
const mark = "==devloop-mark=="

// lookScript lists the image named $1 in the node's containerd, then the
// mark and, unless the image is there, the blobs the containerd holds:
// presence and blobs in one exec. (Whether the image is there is listed's
// to say; sh only spares the blob listing.)
const lookScript = `out=$(ctr --namespace k8s.io images ls -q "name==$1") || exit $?
printf '%s\n' "$out" '` + mark + `'
[ "$out" = "$1" ] || exec ctr --namespace k8s.io content ls -q`

// importScript runs ctr with the arguments after $1 (the import, reading
// the exec's stdin) and, when it succeeds, prints the mark and lists the
// image named $1: the import and its check in one exec.
const importScript = `ref=$1; shift; ctr --namespace k8s.io "$@" || exit $?; echo '` + mark + `'; exec ctr --namespace k8s.io images ls -q "name==$ref"`

// look is what a look into a node saw: whether its containerd lists the
// image and, when it does not, the blobs it holds (nil when unknown: the
// whole image travels).
type look struct {
	present bool
	blobs   []string
	at      time.Time
}

type seenKey struct{ node, ref string }

// listing is what `ctr images ls -q name==REF` printed after an import.
type listing struct {
	out, errOut string
	code        int
}

// lookIn looks into node for the image full: one exec through the node's
// sh, or, in a node without sh (remembered), ctr alone in an exec for the
// image and one for the blobs.
func (n *Nodes) lookIn(ctx context.Context, node nodeContainer, full string) (look, error) {
	if n.hasShell(node) {
		lk, ran, err := n.lookShell(ctx, node, full)
		if ran {
			return lk, err
		}
		n.noShellIn(node)
	}
	return n.lookApart(ctx, node, full)
}

// lookShell runs lookScript in node; ran is false when the node has no sh.
func (n *Nodes) lookShell(ctx context.Context, node nodeContainer, full string) (lk look, ran bool, err error) {
	out, errOut, code, err := n.exec(ctx, node.id, []string{"sh", "-c", lookScript, "sh", full}, nil)
	if noShell(out, errOut, code, err) {
		n.log.Debug("the node has no sh; running ctr alone", zap.String("node", node.name),
			zap.Int("exit", code), zap.String("output", strings.TrimSpace(out+errOut)), zap.Error(err))
		return look{}, false, nil
	}
	if err != nil {
		return look{}, true, fmt.Errorf("looking for images in %s node %s: %w", n.sel.Flavour, node.name, err)
	}
	images, blobs, ok := strings.Cut(out, mark)
	if !ok {
		return look{}, true, fmt.Errorf("listing images in %s node %s: ctr exited %d: %s", n.sel.Flavour, node.name, code, strings.TrimSpace(errOut))
	}
	lk = look{present: listed([]byte(images), full), at: n.now()}
	if !lk.present && code != 0 {
		n.log.Debug("listing the node's blobs failed; sending the whole image", zap.String("node", node.name),
			zap.Int("exit", code), zap.String("stderr", strings.TrimSpace(errOut)))
	} else if !lk.present {
		lk.blobs = strings.Fields(blobs)
	}
	return lk, true, nil
}

// lookApart is lookIn for a node without sh.
func (n *Nodes) lookApart(ctx context.Context, node nodeContainer, full string) (look, error) {
	ok, err := n.presentIn(ctx, node, full)
	if err != nil || ok {
		return look{present: ok, at: n.now()}, err
	}
	blobs, err := n.nodeBlobs(ctx, node)
	if err != nil {
		n.log.Debug("listing the node's blobs failed; sending the whole image", zap.String("node", node.name), zap.Error(err))
	}
	return look{blobs: blobs, at: n.now()}, nil
}

// noShell reports whether a shell exec failed for want of sh: the exec
// fails with the engine's "executable file not found", or the exit code is
// 126 or 127 with no mark and no word from sh (which names on stderr a
// command it cannot find).
func noShell(out, errOut string, code int, err error) bool {
	if err != nil {
		return strings.Contains(err.Error(), "executable file not found")
	}
	if strings.Contains(out, mark) || (code != 126 && code != 127) {
		return false
	}
	return strings.TrimSpace(errOut) == "" || missingExecutable(errOut)
}

func missingExecutable(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory")
}

func (n *Nodes) hasShell(node nodeContainer) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return !n.shellless[node.id]
}

func (n *Nodes) noShellIn(node nodeContainer) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.shellless[node.id] = true
}

// remember keeps what Present saw in a node lacking full, for the Deliver
// after the build, and forgets what has aged past lookTTL.
func (n *Nodes) remember(node nodeContainer, full string, lk look) {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	for k, old := range n.seen {
		if now.Sub(old.at) >= lookTTL {
			delete(n.seen, k)
		}
	}
	n.seen[seenKey{node.id, full}] = lk
}

// recall returns, once, what Present saw in node lacking full, when it
// is younger than lookTTL.
func (n *Nodes) recall(node nodeContainer, full string) (look, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := seenKey{node.id, full}
	lk, ok := n.seen[k]
	delete(n.seen, k)
	age := n.now().Sub(lk.at)
	return lk, ok && age >= 0 && age < lookTTL
}
