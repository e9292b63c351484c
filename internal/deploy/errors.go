package deploy

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// ObjectError is the failure to apply one object.
type ObjectError struct {
	Ref ObjectRef
	// Fields lists the immutable fields the change touched, if that is why it failed.
	Fields []string
	// MissingNamespace is set when the object's namespace does not exist.
	MissingNamespace string
	// Err is the underlying error (with the API server's message).
	Err error
}

func (e *ObjectError) Error() string {
	switch {
	case e.MissingNamespace != "":
		return fmt.Sprintf("%s: namespace %q does not exist (create it, add a Namespace to the manifests or set deploy.namespace)", e.Ref, e.MissingNamespace)
	case len(e.Fields) > 0:
		return fmt.Sprintf("%s: immutable field %s changed; --force deletes and recreates it: %v", e.Ref, strings.Join(e.Fields, ", "), e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Ref, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// ApplyError reports a pass that failed: which objects failed, which were
// applied before or beside the failure, and which were not attempted.
type ApplyError struct {
	Failed     []*ObjectError
	Applied    []ObjectResult
	NotApplied []ObjectRef
}

func (e *ApplyError) Error() string {
	var b strings.Builder
	b.WriteString("applying: ")
	for i, f := range e.Failed {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	var done []string
	for _, r := range e.Applied {
		if r.Action != ActionUnchanged {
			done = append(done, fmt.Sprintf("%s (%s)", r.Ref, r.Action))
		}
	}
	if len(done) > 0 {
		fmt.Fprintf(&b, "; already applied in this pass: %s", strings.Join(done, ", "))
	} else {
		b.WriteString("; nothing else was changed in this pass")
	}
	if len(e.NotApplied) > 0 {
		names := make([]string, len(e.NotApplied))
		for i, r := range e.NotApplied {
			names[i] = r.String()
		}
		fmt.Fprintf(&b, "; not applied: %s", strings.Join(names, ", "))
	}
	return b.String()
}

// Unwrap returns the objects' errors.
func (e *ApplyError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, f := range e.Failed {
		out[i] = f
	}
	return out
}

// immutableFields returns the fields named by an API error that rejected a
// change to immutable fields, or nil when err is something else.
func immutableFields(err error) []string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
		return nil
	}
	var fields []string
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			m := strings.ToLower(c.Message)
			if strings.Contains(m, "immutable") || strings.Contains(m, "forbidden: updates to") {
				fields = append(fields, c.Field)
			}
		}
	}
	if len(fields) == 0 && strings.Contains(strings.ToLower(status.Status().Message), "immutable") {
		fields = append(fields, "(unknown)")
	}
	return fields
}
