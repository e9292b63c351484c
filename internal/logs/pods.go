package logs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
)

// nsWatch lists and watches the pods of one namespace and keeps one follower
// per container of each.
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

func (n *nsWatch) run(ctx context.Context) {
	defer func() {
		for _, p := range n.pods {
			p.cancel()
		}
		n.wg.Wait()
	}()
	b := backoff{min: 250 * time.Millisecond, max: 5 * time.Second}
	failing := false
	for ctx.Err() == nil {
		progressed, err := n.watchOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if progressed {
			b.reset()
			if failing {
				n.s.log.Info("watching pods again", zap.String("namespace", n.ns))
				failing = false
			}
		}
		if err == nil {
			continue
		}
		d := b.next()
		if !failing || d == b.max {
			n.s.log.Warn("watching pods for logs failed; retrying", zap.String("namespace", n.ns), zap.Error(err), zap.Duration("in", d))
		}
		failing = true
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}

func (n *nsWatch) watchOnce(ctx context.Context) (bool, error) {
	opts := metav1.ListOptions{LabelSelector: n.sel.String()}
	pods := n.s.client.CoreV1().Pods(n.ns)
	list, err := pods.List(ctx, opts)
	if err != nil {
		return false, fmt.Errorf("listing pods: %w", err)
	}
	seen := map[types.UID]bool{}
	for i := range list.Items {
		p := &list.Items[i]
		seen[p.UID] = true
		n.update(ctx, p)
	}
	for uid, p := range n.pods {
		if !seen[types.UID(uid)] {
			n.remove(p)
		}
	}
	opts.ResourceVersion = list.ResourceVersion
	opts.AllowWatchBookmarks = true
	w, err := pods.Watch(ctx, opts)
	if err != nil {
		return true, fmt.Errorf("watching pods: %w", err)
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case ev, ok := <-w.ResultChan():
			if !ok {
				return true, nil
			}
			switch ev.Type {
			case watch.Error:
				err := apierrors.FromObject(ev.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
					return true, nil
				}
				return true, fmt.Errorf("watching pods: %w", err)
			case watch.Added, watch.Modified:
				if p, ok := ev.Object.(*corev1.Pod); ok {
					n.update(ctx, p)
				}
			case watch.Deleted:
				if p, ok := ev.Object.(*corev1.Pod); ok {
					if st := n.pods[string(p.UID)]; st != nil {
						st.set(p, false)
						n.remove(st)
					}
				}
			}
		}
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

// backoff doubles from min to max; reset after progress.
type backoff struct{ min, max, cur time.Duration }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = b.min
	} else if b.cur *= 2; b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }
