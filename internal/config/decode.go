package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxNodes bounds the work of one decode, so that alias expansion ("billion laughs")
// cannot make it explode.
const maxNodes = 50_000

// maxErrors bounds the errors of one decode; past it decoding stops.
const maxErrors = 50

var (
	durationType = reflect.TypeFor[time.Duration]()
	profileType  = reflect.TypeFor[Profile]()
)

// decoder decodes yaml.v3 nodes into the config types strictly, collecting errors with
// positions and recording the origin of every value by path.
type decoder struct {
	file      string
	errs      ErrorList
	origins   map[string]Origin
	profileOf map[*yaml.Node]string
	budget    int
	exhausted bool
}

func newDecoder(file string, profileOf map[*yaml.Node]string) *decoder {
	return &decoder{file: file, origins: map[string]Origin{}, profileOf: profileOf, budget: maxNodes}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	if d.exhausted {
		return
	}
	if len(d.errs) == maxErrors {
		d.exhausted = true
		format, args = "too many errors; fix these first", nil
	}
	e := &Error{File: d.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// spend charges one node against the budget and reports whether decoding may go on.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	if d.exhausted {
		return false
	}
	d.budget--
	if d.budget < 0 {
		d.errorf(n, path, "the document is too large or expands too many aliases (more than %d nodes)", maxNodes)
		d.exhausted = true
		return false
	}
	return true
}

// deref follows aliases; nil when the chain is broken or too long.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 64 {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return fmt.Sprintf("the integer %s", n.Value)
		case "!!float":
			return fmt.Sprintf("the number %s", n.Value)
		case "!!bool":
			return fmt.Sprintf("the boolean %s", n.Value)
		default:
			return fmt.Sprintf("the string %q", n.Value)
		}
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unknown node"
}

// where names a path in messages.
func where(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func (d *decoder) record(path string, n *yaml.Node) {
	d.origins[path] = Origin{File: d.file, Line: n.Line, Column: n.Column, Profile: d.profileOf[n]}
}

// decode decodes n into v. partial is true inside profiles, where required fields may
// be left out; it resets inside list items, which replace wholesale.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, partial bool) {
	orig := n
	if !d.spend(orig, path) {
		return
	}
	if n = deref(n); n == nil {
		d.errorf(orig, path, "%s: broken alias", where(path))
		return
	}
	if isNull(n) {
		return // null leaves the field unset
	}
	d.record(path, orig)
	switch {
	case v.Type() == durationType:
		d.decodeDuration(n, v, path)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path, partial)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path)
	case v.Kind() == reflect.Map:
		d.decodeStringMap(n, v, path)
	case v.Kind() == reflect.String:
		if s, ok := d.scalarString(n, path); ok {
			v.SetString(s)
		}
	case v.Kind() == reflect.Int:
		d.decodeInt(n, v, path)
	case v.Kind() == reflect.Bool:
		d.decodeBool(n, v, path)
	default:
		panic(fmt.Sprintf("config: no decoder for %s", v.Type())) // a bug in the types, not in the input
	}
}

type fieldInfo struct {
	name     string
	index    int
	required bool
}

func fieldsOf(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out = append(out, fieldInfo{name: name, index: i, required: f.Tag.Get("devloop") == "required"})
	}
	return out
}

func fieldNames(fs []fieldInfo) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string, partial bool) {
	fields := fieldsOf(v.Type())
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "%s: expected a mapping with fields %s, got %s", where(path), fieldNames(fields), describe(n))
		return
	}
	// A profile's overrides name only what they change: no required fields below it,
	// except inside list items, which replace wholesale.
	childPartial := partial || v.Type() == profileType
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(n.Content[i], path, "%s: expected a field name, got %s", where(path), describeOrNil(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, joinPath(path, k.Value), "duplicated field %q in %s (first set at line %d:%d)", k.Value, where(path), first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		f, ok := lookupField(fields, k.Value)
		if !ok {
			d.errorf(k, joinPath(path, k.Value), "unknown field %q in %s%s; expected one of: %s", k.Value, where(path), suggest(fields, k.Value), fieldNames(fields))
			continue
		}
		fp := joinPath(path, f.name)
		if f.required && isEmptyValue(val) {
			d.errorf(val, fp, "%s must not be empty", fp)
			continue
		}
		d.decode(val, v.Field(f.index), fp, childPartial)
	}
	if partial {
		return
	}
	for _, f := range fields {
		if _, ok := seen[f.name]; f.required && !ok {
			d.errorf(n, joinPath(path, f.name), "missing required field %q in %s", f.name, where(path))
		}
	}
}

func describeOrNil(n *yaml.Node) string {
	if n == nil {
		return "a broken alias"
	}
	return describe(n)
}

func lookupField(fs []fieldInfo, name string) (fieldInfo, bool) {
	for _, f := range fs {
		if f.name == name {
			return f, true
		}
	}
	return fieldInfo{}, false
}

func isEmptyValue(n *yaml.Node) bool {
	r := deref(n)
	return r != nil && r.Kind == yaml.ScalarNode && (isNull(r) || (r.Value == "" && r.ShortTag() == "!!str"))
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "%s: expected a list, got %s", path, describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i), false)
	}
	v.Set(s)
}

func (d *decoder) decodeStringMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "%s: expected a mapping of names to strings, got %s", path, describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		if !d.spend(n.Content[i], path) {
			return
		}
		if k == nil || k.Kind != yaml.ScalarNode || isNull(k) {
			d.errorf(n.Content[i], path, "%s: expected a name, got %s", path, describeOrNil(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k, path+"."+k.Value, "duplicated key %q in %s (first set at line %d:%d)", k.Value, path, first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		r := deref(val)
		if r == nil || r.Kind != yaml.ScalarNode || isNull(r) {
			d.errorf(val, path+"."+k.Value, "%s.%s: expected a string, got %s", path, k.Value, describeOrNil(r))
			continue
		}
		d.record(path+"."+k.Value, val)
		// Any scalar is accepted here: build args such as VERSION: 1.2 mean the text.
		m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(r.Value))
	}
	v.Set(m)
}
