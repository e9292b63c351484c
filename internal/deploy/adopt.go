package deploy

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// AnnotationAdopted marks an object that existed before devloop applied it
// and that devloop adopted (--adopt, deploy.adopt): Prune, Delete and the
// cleanup of `devloop dev` leave it in place.
const AnnotationAdopted = "devloop.dev/adopted"

// ActionAdopted is the action of an object devloop took over this pass.
const ActionAdopted Action = "adopted"

// ForeignError says an object of the manifests already exists in the cluster
// without the applying config's labels: made by hand, by another tool or by
// another devloop config. Apply refuses to take it over unless told to adopt.
type ForeignError struct {
	// Config is the devloop config applying.
	Config string
	// OtherConfig is the devloop config whose labels the object carries, if any.
	OtherConfig string
}

func (e *ForeignError) Error() string {
	owner := fmt.Sprintf("devloop did not create it (it lacks the labels %s)", Selector(e.Config))
	if e.OtherConfig != "" {
		owner = fmt.Sprintf("it belongs to devloop config %q", e.OtherConfig)
	}
	return "already exists and " + owner + ": rename or remove it in the manifests, delete it from the cluster, " +
		"or let devloop take it over with --adopt or deploy.adopt: true (an adopted object is updated but never deleted by devloop)"
}

// isAdopted reports whether a live object carries the adoption mark.
func isAdopted(u *unstructured.Unstructured) bool {
	return u != nil && u.GetAnnotations()[AnnotationAdopted] == "true"
}

// checkForeign finds the objects of the manifests that exist without this
// config's labels (items with no live object after fetchLive), with one list
// per resource and namespace that has such items. Without adopt each is a
// failure; with adopt it is marked for adoption. Objects adopted earlier
// (marked on the live object or in the inventory) stay adopted: the mark is
// applied again with them, so it is never dropped.
func (p *pass) checkForeign(ctx context.Context, items []*item) error {
	var missing []*item
	for _, it := range items {
		if it.live == nil {
			missing = append(missing, it)
		}
	}
	foreign := map[*item]*unstructured.Unstructured{}
	if len(missing) > 0 {
		err := p.list(ctx, missing, "", func(it *item, live *unstructured.Unstructured) {
			if live != nil {
				foreign[it] = live
			}
		})
		if err != nil {
			return err
		}
	}
	for _, it := range items {
		f, isForeign := foreign[it]
		switch {
		case isForeign && !p.adopt:
			other := ""
			if l := f.GetLabels(); l[LabelManagedBy] == ManagedByValue {
				other = l[LabelConfig]
			}
			p.failed = append(p.failed, &ObjectError{Ref: it.ref(), Err: &ForeignError{Config: p.config, OtherConfig: other}})
			continue
		case isForeign:
			it.adopting, it.replaced = true, f
		case isAdopted(it.live) || p.inv.adopted(it.ref()):
		default:
			continue
		}
		setAnnotation(it.obj, AnnotationAdopted, "true")
		obj, err := prepare(it.obj)
		if err != nil {
			p.failed = append(p.failed, &ObjectError{Ref: it.ref(), Err: err})
			continue
		}
		it.obj = obj
		p.adopted = append(p.adopted, it.ref())
	}
	return nil
}
