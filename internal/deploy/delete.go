package deploy

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
)

// dynamicResource is the dynamic client of one resource (and namespace).
type dynamicResource = dynamic.ResourceInterface

// deleteObject deletes with background propagation (dependents such as a
// Job's pods go too); an object already gone is not an error.
func deleteObject(ctx context.Context, ri dynamicResource, name string) (uid string, err error) {
	live, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	prop := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &prop})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	return string(live.GetUID()), err
}

// waitGone polls until the object with that uid no longer exists.
func waitGone(ctx context.Context, ri dynamicResource, name, uid string, timeout time.Duration) error {
	if uid == "" {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		live, err := ri.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && string(live.GetUID()) != uid) {
			return nil
		}
		if err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still exists after %s", name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func deleteAndWait(ctx context.Context, ri dynamicResource, name string, timeout time.Duration) error {
	uid, err := deleteObject(ctx, ri, name)
	if err != nil {
		return err
	}
	return waitGone(ctx, ri, name, uid, timeout)
}
