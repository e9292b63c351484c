package portforward

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// podReady reports whether p is serving: running, Ready and not being deleted.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// newestReady returns the newest Ready pod among pods (by creation time, then
// by the time it became Ready, then by name for a stable order), or nil.
func newestReady(pods []*corev1.Pod) *corev1.Pod {
	var best *corev1.Pod
	for _, p := range pods {
		if !podReady(p) {
			continue
		}
		if best == nil || newer(p, best) {
			best = p
		}
	}
	return best
}

func newer(a, b *corev1.Pod) bool {
	ca, cb := a.CreationTimestamp.Time, b.CreationTimestamp.Time
	if !ca.Equal(cb) {
		return ca.After(cb)
	}
	ra, rb := readySince(a), readySince(b)
	if !ra.Equal(rb) {
		return ra.After(rb)
	}
	return a.Name > b.Name
}

func readySince(p *corev1.Pod) time.Time {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

// servicePortTarget returns the target port of the service port numbered
// port: a number, or a name to look up in the pod's containers.
func servicePortTarget(svc *corev1.Service, port int) (intstr.IntOrString, error) {
	for _, sp := range svc.Spec.Ports {
		if int(sp.Port) != port {
			continue
		}
		if sp.Protocol != "" && sp.Protocol != corev1.ProtocolTCP {
			return intstr.IntOrString{}, fmt.Errorf("service/%s port %d is %s; only TCP can be forwarded", svc.Name, port, sp.Protocol)
		}
		t := sp.TargetPort
		if t.Type == intstr.Int && t.IntVal == 0 || t.Type == intstr.String && t.StrVal == "" {
			return intstr.FromInt32(sp.Port), nil
		}
		return t, nil
	}
	ports := make([]int32, 0, len(svc.Spec.Ports))
	for _, sp := range svc.Spec.Ports {
		ports = append(ports, sp.Port)
	}
	return intstr.IntOrString{}, fmt.Errorf("service/%s has no port %d (its ports: %v)", svc.Name, port, ports)
}

// containerPort maps target to a port number in pod: a number is used as is,
// a name is looked up among the pod's container ports.
func containerPort(pod *corev1.Pod, target intstr.IntOrString) (int, error) {
	if target.Type == intstr.Int {
		return int(target.IntVal), nil
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.Name == target.StrVal {
				return int(p.ContainerPort), nil
			}
		}
	}
	return 0, fmt.Errorf("pod/%s has no container port named %q", pod.Name, target.StrVal)
}
