package helm

import (
	"context"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	"helm.sh/helm/v4/pkg/action"
	release "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// hookLogLines is how much of a failed hook's log is reported.
const hookLogLines = 20

// HookError is an install or upgrade that failed in a chart hook: Helm's
// message, the hook, and the tail of its pods' logs.
type HookError struct {
	Release string
	Hook    string // e.g. "post-install Job/notes-seed"
	Err     error
	// Logs is the tail of the log of the hook's last pod ("" if none).
	Logs string
}

func (e *HookError) Error() string {
	msg := fmt.Sprintf("release %s: hook %s failed: %v", e.Release, e.Hook, e.Err)
	if e.Logs != "" {
		msg += "\nlast lines of its log:\n" + e.Logs
	}
	return msg
}

func (e *HookError) Unwrap() error { return e.Err }

// deployError wraps a failed install or upgrade: a failed hook becomes a
// *HookError with its log tail, anything else keeps Helm's message.
func (c *Client) deployError(ctx context.Context, ac *action.Configuration, r Release, err error) error {
	wrapped := fmt.Errorf("deploying chart %s (release %s): %w", r.Config.Chart, r.Config.Name, err)
	x, gerr := action.NewGet(ac).Run(r.Config.Name)
	if gerr != nil {
		return wrapped
	}
	rel, gerr := v1(x)
	if gerr != nil {
		return wrapped
	}
	for _, h := range rel.Hooks {
		if h.LastRun.Phase != release.HookPhaseFailed {
			continue
		}
		he := &HookError{Release: r.Config.Name, Hook: fmt.Sprintf("%s %s/%s", events(h), h.Kind, h.Name), Err: err}
		if h.Kind == "Job" || h.Kind == "Pod" {
			he.Logs = c.logTail(ctx, r.Namespace, h)
		}
		return he
	}
	return wrapped
}

func events(h *release.Hook) string {
	s := make([]string, len(h.Events))
	for i, e := range h.Events {
		s[i] = string(e)
	}
	return strings.Join(s, ",")
}

// logTail returns the last lines of the newest pod of a hook Job (or the
// hook Pod itself).
func (c *Client) logTail(ctx context.Context, namespace string, h *release.Hook) string {
	var pod *corev1.Pod
	if h.Kind == "Pod" {
		p, err := c.kube.CoreV1().Pods(namespace).Get(ctx, h.Name, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		pod = p
	} else {
		l, err := c.kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + h.Name})
		if err != nil || len(l.Items) == 0 {
			return ""
		}
		for i := range l.Items {
			if pod == nil || l.Items[i].CreationTimestamp.After(pod.CreationTimestamp.Time) {
				pod = &l.Items[i]
			}
		}
	}
	lines := int64(hookLogLines)
	rc, err := c.kube.CoreV1().Pods(namespace).GetLogs(pod.Name, &corev1.PodLogOptions{TailLines: &lines}).Stream(ctx)
	if err != nil {
		c.log.Debug("reading a hook's log", zap.String("pod", pod.Name), zap.Error(err))
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	return strings.TrimRight(string(b), "\n")
}
