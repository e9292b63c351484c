package portforward

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// A rollout's new pod runs for a while before it is Ready. The forwarder
// dials it then, as a spare, so that the switch when it turns Ready needs no
// dial (a TLS connection to the API server, upgraded through the kubelet to
// the pod: 15-90 ms on our clusters); the first request after Ready is
// served at once.

// starting reports whether p runs but is not Ready yet.
func starting(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && !podReady(p)
}

// nextPod returns the newest starting pod of known that is newer than served
// (any, when served is nil), or nil: the pod the forward is likely to move
// to next.
func nextPod(known map[types.UID]*corev1.Pod, served *corev1.Pod) *corev1.Pod {
	var next *corev1.Pod
	for _, p := range known {
		if !starting(p) || served != nil && !newer(p, served) {
			continue
		}
		if next == nil || newer(p, next) {
			next = p
		}
	}
	return next
}

// targetFor returns the target for pod p on port n: the spare when it is
// that pod's, already dialed, else a new one.
func (f *Forwarder) targetFor(p *corev1.Pod, n int) *target {
	t := &target{namespace: p.Namespace, pod: p.Name, uid: p.UID, port: n, onLost: f.connLost}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.spare.same(t) {
		t, f.spare = f.spare, nil
	}
	return t
}

// prepare keeps the spare on the pod the forward will likely move to next
// (see nextPod), dialing it in the background, and retires a spare no longer
// wanted.
func (f *Forwarder) prepare(known map[types.UID]*corev1.Pod, served *corev1.Pod, port intstr.IntOrString) {
	var t *target
	if p := nextPod(known, served); p != nil {
		if n, err := containerPort(p, port); err == nil {
			t = &target{namespace: p.Namespace, pod: p.Name, uid: p.UID, port: n, onLost: f.connLost}
		}
	}
	f.mu.Lock()
	old := f.spare
	if old.same(t) {
		f.mu.Unlock()
		return
	}
	f.spare = t
	ctx := f.runCtx
	warm := t != nil && ctx != nil && !f.stopped
	if warm {
		f.bg.Add(1)
	}
	f.mu.Unlock()
	if old != nil {
		old.retire()
	}
	if warm {
		go func() {
			defer f.bg.Done()
			t.warm(ctx, f.dialer, f.log)
		}()
	}
}
