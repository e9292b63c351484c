package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// annProvisionedBy is the annotation the PV controller reads to leave the
// deletion of a volume to its external provisioner.
const annProvisionedBy = "pv.kubernetes.io/provisioned-by"

// Config says which claims a Provisioner serves and where their data lives.
type Config struct {
	Root  string // host directory holding one subdirectory per volume
	Class string // StorageClass name served
	Name  string // provisioner name, as in the StorageClass
}

// Provisioner creates and deletes hostPath volumes for the claims of one
// StorageClass.
type Provisioner struct {
	Client kubernetes.Interface
	Config Config
	Log    *zap.Logger
}

// Reconcile provisions a volume for every pending claim of the class and
// deletes the released volumes it provisioned.
func (p *Provisioner) Reconcile(ctx context.Context) error {
	claims, err := p.Client.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing claims: %w", err)
	}
	for i := range claims.Items {
		c := &claims.Items[i]
		if c.Spec.VolumeName != "" || c.Status.Phase != corev1.ClaimPending || c.DeletionTimestamp != nil {
			continue
		}
		if c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != p.Config.Class {
			continue
		}
		if err := p.provision(ctx, c); err != nil {
			p.Log.Warn("provisioning failed", zap.String("claim", c.Namespace+"/"+c.Name), zap.Error(err))
		}
	}
	vols, err := p.Client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing volumes: %w", err)
	}
	for i := range vols.Items {
		v := &vols.Items[i]
		if v.Annotations[annProvisionedBy] != p.Config.Name || v.DeletionTimestamp != nil {
			continue
		}
		if v.Status.Phase != corev1.VolumeReleased || v.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
			continue
		}
		if err := p.remove(ctx, v); err != nil {
			p.Log.Warn("deleting failed", zap.String("volume", v.Name), zap.Error(err))
		}
	}
	return nil
}

func (p *Provisioner) provision(ctx context.Context, c *corev1.PersistentVolumeClaim) error {
	if c.Spec.VolumeMode != nil && *c.Spec.VolumeMode == corev1.PersistentVolumeBlock {
		return fmt.Errorf("block volumes are not supported")
	}
	size, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		return fmt.Errorf("the claim requests no storage")
	}
	name := "pvc-" + string(c.UID)
	dir := filepath.Join(p.Config.Root, name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	// Containers may run as any user; the directory is theirs.
	if err := os.Chmod(dir, 0o777); err != nil {
		return fmt.Errorf("opening %s: %w", dir, err)
	}
	policy := corev1.PersistentVolumeReclaimDelete
	if sc, err := p.Client.StorageV1().StorageClasses().Get(ctx, p.Config.Class, metav1.GetOptions{}); err == nil && sc.ReclaimPolicy != nil {
		policy = *sc.ReclaimPolicy
	}
	dirType := corev1.HostPathDirectoryOrCreate
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{annProvisionedBy: p.Config.Name},
		},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: size},
			AccessModes:                   c.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: policy,
			StorageClassName:              p.Config.Class,
			PersistentVolumeSource: corev1.PersistentVolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &dirType},
			},
			ClaimRef: &corev1.ObjectReference{
				Kind:       "PersistentVolumeClaim",
				APIVersion: "v1",
				Namespace:  c.Namespace,
				Name:       c.Name,
				UID:        c.UID,
			},
		},
	}
	_, err := p.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("creating volume %s: %w", name, err)
	}
	p.Log.Info("provisioned", zap.String("claim", c.Namespace+"/"+c.Name), zap.String("volume", name), zap.String("dir", dir))
	return nil
}

func (p *Provisioner) remove(ctx context.Context, v *corev1.PersistentVolume) error {
	if v.Spec.HostPath != nil {
		dir := filepath.Clean(v.Spec.HostPath.Path)
		rel, err := filepath.Rel(p.Config.Root, dir)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") || strings.Contains(rel, string(filepath.Separator)) {
			return fmt.Errorf("refusing to delete %s: not a volume under %s", dir, p.Config.Root)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("deleting %s: %w", dir, err)
		}
	}
	err := p.Client.CoreV1().PersistentVolumes().Delete(ctx, v.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting volume %s: %w", v.Name, err)
	}
	p.Log.Info("deleted", zap.String("volume", v.Name))
	return nil
}
