package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
)

func claim(name, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			},
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

func TestReconcileProvisionsPendingClaimsOfItsClass(t *testing.T) {
	root := t.TempDir()
	cs := fake.NewClientset(claim("data", "standard"), claim("other", "fast"))
	p := &Provisioner{Client: cs, Config: Config{Root: root, Class: "standard", Name: "devloop.dev/hostpath"}, Log: zap.NewNop()}
	ctx := context.Background()
	if err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	pvs, err := cs.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pvs.Items) != 1 {
		t.Fatalf("want 1 volume (only the claim of class standard), got %d", len(pvs.Items))
	}
	pv := pvs.Items[0]
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "data" || pv.Spec.ClaimRef.UID != "uid-data" {
		t.Fatalf("volume not reserved for the claim: %+v", pv.Spec.ClaimRef)
	}
	if got := pv.Spec.Capacity[corev1.ResourceStorage]; got.String() != "1Gi" {
		t.Fatalf("capacity %s, want 1Gi", got.String())
	}
	if fi, err := os.Stat(pv.Spec.HostPath.Path); err != nil || !fi.IsDir() {
		t.Fatalf("volume directory missing: %v", err)
	}
	// A second pass is a no-op, not an error.
	if err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestReconcileDeletesReleasedVolumesItProvisioned(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "pvc-1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	mk := func(name, path, by string) *corev1.PersistentVolume {
		return &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{annProvisionedBy: by}},
			Spec: corev1.PersistentVolumeSpec{
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}},
			},
			Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased},
		}
	}
	cs := fake.NewClientset(mk("pvc-1", dir, "devloop.dev/hostpath"), mk("foreign", outside, "someone/else"), mk("escape", outside, "devloop.dev/hostpath"))
	p := &Provisioner{Client: cs, Config: Config{Root: root, Class: "standard", Name: "devloop.dev/hostpath"}, Log: zap.NewNop()}
	ctx := context.Background()
	if err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("released volume directory still there: %v", err)
	}
	if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, "pvc-1", metav1.GetOptions{}); err == nil {
		t.Fatal("released volume not deleted")
	}
	for _, n := range []string{"foreign", "escape"} {
		if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Fatalf("volume %s must be left alone: %v", n, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Fatalf("directory outside the root was touched: %v", err)
	}
}
