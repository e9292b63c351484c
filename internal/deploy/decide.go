package deploy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Action is what Apply did to one object.
type Action string

// The actions of Apply.
const (
	ActionCreated    Action = "created"
	ActionConfigured Action = "configured"
	ActionUnchanged  Action = "unchanged"
	ActionRecreated  Action = "recreated"
)

// decision is what Apply must do for one object, before talking to the server.
type decision int

const (
	decideApply    decision = iota // server-side apply (create or configure)
	decideSkip                     // identical to the last applied state: no write
	decideRecreate                 // delete then create (a Job whose pod template changed)
)

// hashOf hashes v's JSON (map keys are sorted by encoding/json).
func hashOf(v interface{}) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hashing: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12]), nil
}

// prepare returns the object to send: a copy of obj carrying the hash of its
// desired state (and of its pod template for a Job).
func prepare(obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	c := obj.DeepCopy()
	ann := c.GetAnnotations()
	delete(ann, AnnotationAppliedHash)
	delete(ann, AnnotationTemplateHash)
	if len(ann) == 0 {
		ann = nil
	}
	c.SetAnnotations(ann)
	if isJob(c) {
		tmpl, _, _ := unstructured.NestedFieldNoCopy(c.Object, "spec", "template")
		th, err := hashOf(tmpl)
		if err != nil {
			return nil, err
		}
		setAnnotation(c, AnnotationTemplateHash, th)
	}
	h, err := hashOf(c.Object)
	if err != nil {
		return nil, err
	}
	setAnnotation(c, AnnotationAppliedHash, h)
	return c, nil
}

func setAnnotation(u *unstructured.Unstructured, k, v string) {
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[k] = v
	u.SetAnnotations(ann)
}

func isJob(u *unstructured.Unstructured) bool {
	gvk := u.GroupVersionKind()
	return gvk.Group == "batch" && gvk.Kind == "Job"
}

// decide compares a prepared desired object with the live one (nil when the
// server has none carrying devloop's labels).
func decide(desired, live *unstructured.Unstructured) decision {
	if live == nil || live.GetDeletionTimestamp() != nil {
		return decideApply
	}
	if live.GetAnnotations()[AnnotationAppliedHash] == desired.GetAnnotations()[AnnotationAppliedHash] {
		return decideSkip
	}
	if isJob(desired) && live.GetAnnotations()[AnnotationTemplateHash] != desired.GetAnnotations()[AnnotationTemplateHash] {
		return decideRecreate
	}
	return decideApply
}

// phases splits objects into the order they are applied in: Namespaces, then
// CustomResourceDefinitions, then everything else (input order kept).
func phases(objs []*unstructured.Unstructured) (namespaces, crds, rest []*unstructured.Unstructured) {
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		switch {
		case gvk.Group == "" && gvk.Kind == "Namespace":
			namespaces = append(namespaces, o)
		case gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition":
			crds = append(crds, o)
		default:
			rest = append(rest, o)
		}
	}
	return namespaces, crds, rest
}
