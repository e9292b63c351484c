package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
	"helm.sh/helm/v4/pkg/action"
	helmkube "helm.sh/helm/v4/pkg/kube"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage/driver"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/devloop-dev/devloop/internal/deploy"
)

// Uninstall uninstalls a release (its pre- and post-delete hooks run, and
// the hook objects left by earlier installs are deleted);
// found is false when there was none. What Helm keeps (objects annotated
// helm.sh/resource-policy: keep, the PVCs of StatefulSets' claim
// templates, which are not part of a release) stays.
func (c *Client) Uninstall(ctx context.Context, name, namespace string, timeout time.Duration) (found bool, err error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	ac, err := c.action(namespace)
	if err != nil {
		return false, err
	}
	return c.uninstall(ac, name, timeout)
}

func (c *Client) uninstall(ac *action.Configuration, name string, timeout time.Duration) (bool, error) {
	// Helm leaves hook objects a delete policy did not remove (a finished
	// seed Job): read them first, delete them after.
	var hooks []*release.Hook
	if x, err := action.NewGet(ac).Run(name); err == nil {
		if rel, err := v1(x); err == nil {
			hooks = rel.Hooks
		}
	}
	un := action.NewUninstall(ac)
	un.WaitStrategy = helmkube.HookOnlyStrategy
	un.Timeout = timeoutOr(timeout)
	un.DeletionPropagation = "background"
	_, err := un.Run(name)
	if errors.Is(err, driver.ErrReleaseNotFound) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("uninstalling release %s: %w", name, err)
	}
	c.deleteHooks(ac, name, hooks)
	c.log.Info("uninstalled", zap.String("release", name))
	return true, nil
}

// deleteHooks deletes the hook objects of an uninstalled release that are
// still there, except those annotated helm.sh/resource-policy: keep.
func (c *Client) deleteHooks(ac *action.Configuration, name string, hooks []*release.Hook) {
	var b bytes.Buffer
	for _, h := range hooks {
		if strings.Contains(h.Manifest, deploy.AnnotationHelmResourcePolicy) {
			continue
		}
		b.WriteString("---\n" + h.Manifest + "\n")
	}
	if b.Len() == 0 {
		return
	}
	res, err := ac.KubeClient.Build(&b, false)
	if err != nil {
		c.log.Info("reading the hooks of an uninstalled release", zap.String("release", name), zap.Error(err))
		return
	}
	if _, errs := ac.KubeClient.Delete(res, metav1.DeletePropagationBackground); len(errs) > 0 {
		c.log.Info("deleting the hooks of an uninstalled release", zap.String("release", name), zap.Errors("errors", errs))
	}
}

// DeleteClaims deletes the PersistentVolumeClaims of the charts' templates
// that uninstalling kept (Helm's label, devloop's config label) in
// namespace, and returns their names. The claims of StatefulSets carry
// devloop's own labels and are deleted by deploy.Applier.Delete.
func (c *Client) DeleteClaims(ctx context.Context, configName, namespace string) ([]string, error) {
	sel := deploy.LabelManagedBy + "=Helm," + deploy.LabelConfig + "=" + configName
	l, err := c.kube.CoreV1().PersistentVolumeClaims(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("listing the charts' claims in %s: %w", namespace, err)
	}
	var names []string
	for _, pvc := range l.Items {
		err := c.kube.CoreV1().PersistentVolumeClaims(namespace).Delete(ctx, pvc.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return names, fmt.Errorf("deleting claim %s/%s: %w", namespace, pvc.Name, err)
		}
		names = append(names, pvc.Name)
	}
	return names, nil
}
