package logs

import (
	"context"
	"sync"
	"time"

	"github.com/devloop-dev/devloop/internal/podwatch"
	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// nsWatch follows the pods of one namespace, as the podwatch.Handler of its
// watcher, and keeps one follower per container of each.
type nsWatch struct {
	s    *Streamer
	ns   string
	sel  labels.Selector
	w    *lineWriter
	pods map[string]*podState // by UID
	wg   sync.WaitGroup
}

// podState is the latest known version of a pod, shared with its followers.
type podState struct {
	mu       sync.Mutex
	pod      *corev1.Pod
	gone     bool
	changed  chan struct{}
	followed map[string]bool // container names with a follower
	cancel   context.CancelFunc
	ctx      context.Context
}

func (p *podState) snapshot() (*corev1.Pod, bool, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pod, p.gone, p.changed
}

func (p *podState) set(pod *corev1.Pod, gone bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pod != nil {
		p.pod = pod
	}
	p.gone = gone
	close(p.changed)
	p.changed = make(chan struct{})
}

// run follows the namespace's pods until ctx is done, then stops their
// followers and waits for them.
func (n *nsWatch) run(ctx context.Context) {
	defer func() {
		for _, p := range n.pods {
			p.cancel()
		}
		n.wg.Wait()
	}()
	w := podwatch.New(n.s.client.CoreV1(), n.s.log.With(zap.String("namespace", n.ns)), "watching pods for logs failed; retrying")
	w.Run(ctx, podwatch.Fixed(podwatch.Selection{Namespace: n.ns, Labels: n.sel}), n)
}

// Listed follows the listed pods and drops the others.
func (n *nsWatch) Listed(ctx context.Context, pods []*corev1.Pod) {
	seen := map[types.UID]bool{}
	for _, p := range pods {
		seen[p.UID] = true
		n.update(ctx, p)
	}
	for uid, p := range n.pods {
		if !seen[types.UID(uid)] {
			n.remove(p)
		}
	}
}

// Changed follows a pod added or modified.
func (n *nsWatch) Changed(ctx context.Context, pod *corev1.Pod) { n.update(ctx, pod) }

// Deleted hands a deleted pod's last version to its followers and drops it.
func (n *nsWatch) Deleted(_ context.Context, pod *corev1.Pod) {
	if st := n.pods[string(pod.UID)]; st != nil {
		st.set(pod, false)
		n.remove(st)
	}
}

// goneGrace lets the followers of a deleted pod read their last lines.
const goneGrace = 5 * time.Second

// remove marks a pod gone: its followers end after their streams do, or
// after goneGrace.
func (n *nsWatch) remove(p *podState) {
	pod, _, _ := p.snapshot()
	delete(n.pods, string(pod.UID))
	p.set(nil, true)
	time.AfterFunc(goneGrace, p.cancel)
}

// update records a pod version and starts followers for its started
// containers.
func (n *nsWatch) update(ctx context.Context, pod *corev1.Pod) {
	st := n.pods[string(pod.UID)]
	if st == nil {
		pctx, cancel := context.WithCancel(ctx)
		st = &podState{pod: pod, changed: make(chan struct{}), followed: map[string]bool{}, ctx: pctx, cancel: cancel}
		n.pods[string(pod.UID)] = st
	} else {
		st.set(pod, false)
	}
	for _, c := range containerStatuses(pod) {
		if st.followed[c.Name] || !started(c) {
			continue
		}
		st.followed[c.Name] = true
		f := &follower{s: n.s, w: n.w, st: st, ns: pod.Namespace, pod: pod.Name, container: c.Name,
			prefix: pod.Name + "/" + c.Name + " | ", color: colorFor(colorKey(pod, c.Name))}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			f.run(st.ctx)
		}()
	}
}

// containerStatuses returns the statuses of init, regular and ephemeral
// containers, in that order.
func containerStatuses(p *corev1.Pod) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	out = append(out, p.Status.InitContainerStatuses...)
	out = append(out, p.Status.ContainerStatuses...)
	out = append(out, p.Status.EphemeralContainerStatuses...)
	return out
}

func started(c corev1.ContainerStatus) bool {
	return c.ContainerID != "" && (c.State.Running != nil || c.State.Terminated != nil)
}

func statusOf(p *corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, c := range containerStatuses(p) {
		if c.Name == name {
			return c, true
		}
	}
	return corev1.ContainerStatus{}, false
}
