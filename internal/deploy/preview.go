package deploy

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AdoptionPreview is what adopting one object would change.
type AdoptionPreview struct {
	Ref ObjectRef
	// Changes are the fields the adoption would remove, add or change:
	// the live object against the server's dry run of the replacing write,
	// so defaults and what the server keeps (a Service's cluster IP) do not
	// show.
	Changes []FieldChange
	// Err is why the server would refuse the replacing write (an immutable
	// field: --force would recreate the object), if it would.
	Err error
}

// PreviewAdoption writes nothing: for every object of objs that exists
// without the config's labels (the objects Apply with Adopt would take
// over), it dry-runs (server-side) the write that would replace it and says
// what would change. Objects of a kind the cluster does not serve cannot
// exist there and are skipped.
func (a *Applier) PreviewAdoption(ctx context.Context, objs []*unstructured.Unstructured, config string) ([]AdoptionPreview, error) {
	cfg, err := configName(objs, config)
	if err != nil {
		return nil, fmt.Errorf("previewing the adoption: %w", err)
	}
	p := &pass{a: a, config: cfg, adopt: true, inv: &inventory{}}
	var known []*unstructured.Unstructured
	for _, o := range objs {
		if _, err := a.mapping(o.GroupVersionKind()); err == nil {
			known = append(known, o)
		}
	}
	items := p.items(known)
	if len(p.failed) > 0 {
		return nil, p.failed[0]
	}
	if len(items) == 0 {
		return nil, nil
	}
	if err := p.findLive(ctx, items); err != nil {
		return nil, fmt.Errorf("previewing the adoption: %w", err)
	}
	if len(p.failed) > 0 {
		return nil, p.failed[0]
	}
	var out []AdoptionPreview
	for _, it := range items {
		if !it.adopting {
			continue
		}
		pr := AdoptionPreview{Ref: it.ref()}
		ri := a.resource(it.mapping, it.obj.GetNamespace())
		got, _, err := replace(ctx, ri, it, []string{metav1.DryRunAll})
		if err != nil {
			pr.Err = err
			if fields := immutableFields(err); len(fields) > 0 {
				pr.Err = &ObjectError{Ref: pr.Ref, Fields: fields, Err: err}
			}
		} else {
			pr.Changes = redactChanges(it.obj, Diff(it.replaced.Object, got.Object))
		}
		out = append(out, pr)
	}
	return out, nil
}
