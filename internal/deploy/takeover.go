package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// An adoption replaces the live object with the rendered one: a server-side
// apply alone would keep every field another field manager (kubectl-create,
// kubectl-client-side-apply, a Helm release) set and the manifests do not
// name, so a hand-made Deployment's container would run beside devloop's.
// takeOver therefore
//
//  1. updates (PUT, with the live resourceVersion) the object to exactly the
//     rendered one, devloop's labels and annotations included, with
//     managedFields set to [{}]: every field the manifests do not name is
//     dropped in this one write, except status and what the API server
//     defaults or keeps (a Service's cluster IPs) and the
//     controllers' state of keepAssigned, and the API server strips every
//     managedFields entry;
//  2. server-side applies it (field manager devloop, force), which changes no
//     field but makes devloop's apply the owner of every field of the
//     manifests. On an object without managedFields the API server also
//     records an entry "before-first-apply" (operation Update) owning every
//     field the object had;
//  3. drops that entry (and any Update entry of devloop's), which would
//     otherwise keep owning those fields: a field later removed from the
//     manifests is then removed from the object, as for objects devloop
//     created.

// keptAnnotations are the annotations controllers set on objects (their
// state, not the user's): an adoption keeps them when the manifests do not
// set them.
var keptAnnotations = []string{
	"deployment.kubernetes.io/revision",
	"pv.kubernetes.io/",
	"volume.kubernetes.io/",
	"volume.beta.kubernetes.io/",
}

// adoptionObject is what takeOver writes over live: a copy of desired (a
// prepared object) carrying live's resourceVersion, managedFields reset,
// and the controllers' state of live the manifests do not set.
func adoptionObject(desired, live *unstructured.Unstructured) *unstructured.Unstructured {
	c := desired.DeepCopy()
	c.SetResourceVersion(live.GetResourceVersion())
	if md, ok := c.Object["metadata"].(map[string]any); ok {
		md["managedFields"] = []any{map[string]any{}}
	}
	keepAssigned(c, live)
	return c
}

// keepAssigned copies into c the state controllers keep on live that c does
// not set: their annotations and a bound claim's volume (immutable: a PUT
// without it is refused).
func keepAssigned(c, live *unstructured.Unstructured) {
	ann := c.GetAnnotations()
	for k, v := range live.GetAnnotations() {
		if _, set := ann[k]; set || !keptAnnotation(k) {
			continue
		}
		setAnnotation(c, k, v)
		ann = c.GetAnnotations()
	}
	if c.GetKind() == "PersistentVolumeClaim" && c.GroupVersionKind().Group == "" {
		if _, set, _ := unstructured.NestedString(c.Object, "spec", "volumeName"); !set {
			if v, ok, _ := unstructured.NestedString(live.Object, "spec", "volumeName"); ok && v != "" {
				_ = unstructured.SetNestedField(c.Object, v, "spec", "volumeName")
			}
		}
	}
}

func keptAnnotation(k string) bool {
	for _, p := range keptAnnotations {
		if k == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(k, p)) {
			return true
		}
	}
	return false
}

// previousObject is the record of a replaced object: live without its
// managedFields and status, Secret values redacted.
func previousObject(live *unstructured.Unstructured) map[string]any {
	c := Redact([]*unstructured.Unstructured{live})[0]
	unstructured.RemoveNestedField(c.Object, "metadata", "managedFields")
	unstructured.RemoveNestedField(c.Object, "status")
	return c.Object
}

// takeOver adopts it (a foreign object): the three steps above. It returns
// the result (with the previous object and what changed), the writes made
// and the failure.
func (p *pass) takeOver(ctx context.Context, it *item, ri dynamicResource) (ObjectResult, int, *ObjectError) {
	ref := it.ref()
	got, writes, err := replace(ctx, ri, it, nil)
	prev := previousObject(it.replaced)
	if err != nil {
		if fields := immutableFields(err); len(fields) > 0 {
			if isJob(it.obj) || p.force {
				res, n, oerr := p.recreate(ctx, it, ri, writes)
				res.Previous = prev
				return res, n, oerr
			}
			return ObjectResult{}, writes, &ObjectError{Ref: ref, Fields: fields, Err: err}
		}
		return ObjectResult{}, writes, &ObjectError{Ref: ref, Err: fmt.Errorf("replacing it with the manifests' object: %w", err)}
	}
	changes := redactChanges(it.obj, Diff(it.replaced.Object, got.Object))
	applied, err := ri.Apply(ctx, it.obj.GetName(), it.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	writes++
	if err != nil {
		return ObjectResult{}, writes, &ObjectError{Ref: ref, Err: fmt.Errorf("taking ownership of its fields after replacing it: %w", err)}
	}
	n, err := dropUpdateEntry(ctx, ri, applied)
	writes += n
	if err != nil {
		return ObjectResult{}, writes, &ObjectError{Ref: ref, Err: fmt.Errorf("dropping the field ownership the object had before the apply: %w", err)}
	}
	return ObjectResult{Ref: ref, Action: ActionAdopted, Previous: prev, Changes: changes}, writes, nil
}

// replaceAttempts bounds the replacing writes refused because the object
// changed since it was read (its controller updates a fresh Deployment's
// annotations and status in the first seconds).
const replaceAttempts = 5

// replace writes the adoption object of it over it.replaced (the first step
// of takeOver; with dryRun, the server's dry run of it) and returns what the
// server stored (or would). On a conflict it reads the object again, into
// it.replaced, and retries. It returns the writes made.
func replace(ctx context.Context, ri dynamicResource, it *item, dryRun []string) (*unstructured.Unstructured, int, error) {
	writes := 0
	for attempt := 1; ; attempt++ {
		got, err := ri.Update(ctx, adoptionObject(it.obj, it.replaced), metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dryRun})
		if len(dryRun) == 0 {
			writes++
		}
		if err == nil || !apierrors.IsConflict(err) {
			return got, writes, err
		}
		if attempt == replaceAttempts {
			return nil, writes, fmt.Errorf("it changed %d times while devloop replaced it, run again: %w", attempt, err)
		}
		live, gerr := ri.Get(ctx, it.obj.GetName(), metav1.GetOptions{})
		if gerr != nil {
			return nil, writes, fmt.Errorf("reading it again after a conflict: %w", gerr)
		}
		it.replaced = live
	}
}

// beforeFirstApply is the manager of the managedFields entry the API server
// adds, at the first server-side apply to an object without managedFields,
// for the fields the object had.
const beforeFirstApply = "before-first-apply"

// dropUpdateEntry removes from u's managedFields the Update entries of
// before-first-apply and of devloop, keeping every other entry (devloop's
// apply, the controllers'), with u's resourceVersion as precondition
// (refetched on a conflict: a controller may write the object meanwhile).
// It returns the writes made.
func dropUpdateEntry(ctx context.Context, ri dynamicResource, u *unstructured.Unstructured) (int, error) {
	writes := 0
	for attempt := 0; ; attempt++ {
		entries := u.GetManagedFields()
		kept := make([]metav1.ManagedFieldsEntry, 0, len(entries))
		for _, e := range entries {
			if e.Operation != metav1.ManagedFieldsOperationUpdate || (e.Manager != FieldManager && e.Manager != beforeFirstApply) {
				kept = append(kept, e)
			}
		}
		if len(kept) == len(entries) || len(kept) == 0 {
			return writes, nil
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": u.GetResourceVersion(), "managedFields": kept,
		}})
		if err != nil {
			return writes, fmt.Errorf("encoding the managedFields patch: %w", err)
		}
		writes++
		_, err = ri.Patch(ctx, u.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager})
		if err == nil {
			return writes, nil
		}
		if !apierrors.IsConflict(err) || attempt == 4 {
			return writes, err
		}
		if u, err = ri.Get(ctx, u.GetName(), metav1.GetOptions{}); err != nil {
			return writes, err
		}
	}
}
