package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"
)

// KubePods runs container hooks through the API server's exec subresource.
type KubePods struct {
	Config *rest.Config
	Client kubernetes.Interface
}

var _ PodExecer = KubePods{}

// Pods implements PodExecer: the Running pods the selector matches, not
// being deleted.
func (k KubePods) Pods(ctx context.Context, ns, selector string) ([]string, error) {
	list, err := k.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing pods %s in %s: %w", selector, ns, err)
	}
	var out []string
	for _, p := range list.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

// Exec implements PodExecer.
func (k KubePods) Exec(ctx context.Context, ns, pod, container string, cmd []string, stdout, stderr io.Writer) (int, error) {
	opts := &corev1.PodExecOptions{Container: container, Command: cmd, Stdout: true, Stderr: true}
	u := k.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).
		SubResource("exec").VersionedParams(opts, scheme.ParameterCodec).URL()
	ex, err := remotecommand.NewSPDYExecutor(k.Config, "POST", u)
	if err != nil {
		return 0, fmt.Errorf("opening an exec stream to %s: %w", pod, err)
	}
	err = ex.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
	var code utilexec.CodeExitError
	if errors.As(err, &code) {
		return code.Code, nil
	}
	if err != nil {
		return 0, fmt.Errorf("exec in %s: %w", pod, err)
	}
	return 0, nil
}
