package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FieldChange is one difference between a live object and the object that
// replaces it: a field removed (New nil), added (Old nil) or changed.
type FieldChange struct {
	// Path names the field: spec.replicas, metadata.labels["app.kubernetes.io/name"],
	// spec.template.spec.containers[name=web].image, spec.ports[0].
	Path string `json:"path"`
	Old  any    `json:"old,omitempty"`
	New  any    `json:"new,omitempty"`
}

// maxValueLen bounds a value in FieldChange.String; the event of an
// adoption carries the whole previous object.
const maxValueLen = 400

// String renders the change as one line: "- path: old", "+ path: new" or
// "~ path: old → new".
func (c FieldChange) String() string {
	switch {
	case c.New == nil:
		return "- " + c.Path + ": " + short(c.Old)
	case c.Old == nil:
		return "+ " + c.Path + ": " + short(c.New)
	default:
		return "~ " + c.Path + ": " + short(c.Old) + " → " + short(c.New)
	}
}

func short(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "<redacted>", not "\u003credacted\u003e"
	s := fmt.Sprint(v)
	if err := enc.Encode(v); err == nil {
		s = strings.TrimSuffix(b.String(), "\n")
	}
	if len(s) > maxValueLen {
		s = s[:maxValueLen] + "…"
	}
	return s
}

// ignoredMetadata are the metadata fields the server keeps for itself; a
// diff of two versions of an object says nothing about them.
var ignoredMetadata = []string{
	"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink",
}

// ignoredAnnotations are devloop's own bookkeeping, rewritten by every apply.
var ignoredAnnotations = []string{AnnotationAppliedHash, AnnotationTemplateHash}

// Diff lists the fields that differ between the live object and the one
// replacing it, sorted by path, ignoring status, the server's metadata
// (managedFields, resourceVersion, uid, creationTimestamp, generation) and
// devloop's hash annotations. Lists whose items all carry a distinct name
// (containers, ports, volumes, env) are matched by name, others by index.
func Diff(live, replacement map[string]any) []FieldChange {
	var out []FieldChange
	diffValue("", forDiff(live), forDiff(replacement), &out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// forDiff is a copy of obj without the fields Diff ignores.
func forDiff(obj map[string]any) map[string]any {
	c := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "status" {
			c[k] = v
		}
	}
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		return c
	}
	m := make(map[string]any, len(md))
	for k, v := range md {
		m[k] = v
	}
	for _, k := range ignoredMetadata {
		delete(m, k)
	}
	if ann, ok := m["annotations"].(map[string]any); ok {
		a := make(map[string]any, len(ann))
		for k, v := range ann {
			a[k] = v
		}
		for _, k := range ignoredAnnotations {
			delete(a, k)
		}
		m["annotations"] = a
		if len(a) == 0 {
			delete(m, "annotations")
		}
	}
	c["metadata"] = m
	return c
}

func diffValue(path string, a, b any, out *[]FieldChange) {
	switch {
	case a == nil && b == nil:
		return
	case a == nil || b == nil:
		*out = append(*out, FieldChange{Path: path, Old: a, New: b})
		return
	}
	am, aIsMap := a.(map[string]any)
	bm, bIsMap := b.(map[string]any)
	if aIsMap && bIsMap {
		keys := make([]string, 0, len(am)+len(bm))
		for k := range am {
			keys = append(keys, k)
		}
		for k := range bm {
			if _, ok := am[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			diffValue(join(path, k), am[k], bm[k], out)
		}
		return
	}
	al, aIsList := a.([]any)
	bl, bIsList := b.([]any)
	if aIsList && bIsList {
		diffList(path, al, bl, out)
		return
	}
	if !equalValue(a, b) {
		*out = append(*out, FieldChange{Path: path, Old: a, New: b})
	}
}

func diffList(path string, a, b []any, out *[]FieldChange) {
	an, aNamed := names(a)
	bn, bNamed := names(b)
	if aNamed && bNamed && (len(a) > 0 || len(b) > 0) {
		keys := make([]string, 0, len(a)+len(b))
		for _, item := range a {
			keys = append(keys, item.(map[string]any)["name"].(string))
		}
		for _, item := range b {
			if n := item.(map[string]any)["name"].(string); an[n] == nil {
				keys = append(keys, n)
			}
		}
		for _, k := range keys {
			diffValue(path+"[name="+k+"]", an[k], bn[k], out)
		}
		return
	}
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y any
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		diffValue(path+"["+strconv.Itoa(i)+"]", x, y, out)
	}
}

// names indexes a list by the items' name when every item is a map with a
// distinct string name.
func names(l []any) (map[string]any, bool) {
	m := make(map[string]any, len(l))
	for _, item := range l {
		im, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		n, ok := im["name"].(string)
		if !ok || n == "" || m[n] != nil {
			return nil, false
		}
		m[n] = item
	}
	return m, true
}

// join appends a map key to a path; keys that are not plain words (label
// and annotation keys) are quoted.
func join(path, key string) string {
	if key == "" || strings.ContainsAny(key, "./[]\" ") {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// equalValue compares scalars, treating every numeric type alike (the
// API's int64 and a manifest's float64 say the same 3).
func equalValue(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// redactChanges replaces the Secret values in changes of a Secret by
// Redacted (the keys stay): what an adoption reports must not print them.
func redactChanges(u *unstructured.Unstructured, changes []FieldChange) []FieldChange {
	if u.GetKind() != "Secret" || u.GroupVersionKind().Group != "" {
		return changes
	}
	redact := func(v any) any {
		if v == nil {
			return nil
		}
		if m, ok := v.(map[string]any); ok {
			c := make(map[string]any, len(m))
			for k := range m {
				c[k] = Redacted
			}
			return c
		}
		return Redacted
	}
	for i, c := range changes {
		for _, f := range []string{"data", "stringData"} {
			if c.Path == f || strings.HasPrefix(c.Path, f+".") || strings.HasPrefix(c.Path, f+"[") {
				changes[i].Old, changes[i].New = redact(c.Old), redact(c.New)
			}
		}
	}
	return changes
}
