package skaffold

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
)

// patch is one JSON Patch operation of a profile (RFC 6902), its path a
// JSON Pointer into the configuration.
type patch struct {
	at             at
	op, path, from string
	pathAt, fromAt at
	value          *yaml.Node
}

func (r *reader) patch(n *yaml.Node, path string) patch {
	q := patch{at: r.nodeAt(n, path), op: "replace"}
	r.mapping(n, path, map[string]field{
		"op": {read: func(n *yaml.Node, p string) {
			r.str(&q.op)(n, p)
			if !slices.Contains([]string{"add", "remove", "replace", "move", "copy", "test"}, q.op) {
				r.errorf(n, p, "unknown operation %q; expected add, remove, replace, move, copy or test", q.op)
			}
		}},
		"path":  {read: func(n *yaml.Node, p string) { q.pathAt = r.nodeAt(n, p); r.str(&q.path)(n, p) }},
		"from":  {read: func(n *yaml.Node, p string) { q.fromAt = r.nodeAt(n, p); r.str(&q.from)(n, p) }},
		"value": {read: func(n *yaml.Node, _ string) { q.value = n }},
	})
	if len(r.errs) > 0 {
		return q
	}
	switch {
	case q.pathAt.Path == "":
		r.errorf(n, join(path, "path"), "%s", "required; a JSON Pointer such as /build/artifacts/0/docker/dockerfile")
	case (q.op == "move" || q.op == "copy") && q.fromAt.Path == "":
		r.errorf(n, join(path, "from"), "required by op %s", q.op)
	case (q.op == "add" || q.op == "replace" || q.op == "test") && q.value == nil:
		r.errorf(n, join(path, "value"), "required by op %s", q.op)
	}
	return q
}

// apply applies q to the configuration root, in place.
func (q patch) apply(root *yaml.Node) *config.Error {
	switch q.op {
	case "add":
		return q.pathAt.set(root, q.path, clone(q.value), true)
	case "replace":
		return q.pathAt.set(root, q.path, clone(q.value), false)
	case "remove":
		_, err := q.pathAt.take(root, q.path, true)
		return err
	case "move", "copy":
		v, err := q.fromAt.take(root, q.from, q.op == "move")
		if err != nil {
			return err
		}
		return q.pathAt.set(root, q.path, clone(v), true)
	case "test":
		v, err := q.pathAt.take(root, q.path, false)
		if err != nil {
			return err
		}
		var got, want any
		if v.Decode(&got) != nil || q.value.Decode(&want) != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			return q.pathAt.errorf("%s: test failed: the value is %v, not %v", q.path, got, want)
		}
	}
	return nil
}

// pointer splits a JSON Pointer into its unescaped tokens.
func (a at) pointer(ptr string) ([]string, *config.Error) {
	if !strings.HasPrefix(ptr, "/") {
		return nil, a.errorf("%q is not a JSON Pointer; expected a path from the top such as /build/artifacts/0", ptr)
	}
	toks := strings.Split(ptr[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// parent walks to the node holding the last token of ptr.
func (a at) parent(root *yaml.Node, ptr string) (*yaml.Node, string, *config.Error) {
	toks, err := a.pointer(ptr)
	if err != nil {
		return nil, "", err
	}
	n := root
	for i, t := range toks[:len(toks)-1] {
		where := "/" + strings.Join(toks[:i+1], "/")
		n = deref(n)
		switch {
		case n == nil || isNull(n):
			return nil, "", a.errorf("%s: %s does not exist", ptr, where)
		case n.Kind == yaml.MappingNode:
			n = value(n, t)
			if n == nil {
				return nil, "", a.errorf("%s: %s does not exist", ptr, where)
			}
		case n.Kind == yaml.SequenceNode:
			j, ierr := strconv.Atoi(t)
			if ierr != nil || j < 0 || j >= len(n.Content) {
				return nil, "", a.errorf("%s: %s does not exist (the list has %d items)", ptr, where, len(n.Content))
			}
			n = deref(n.Content[j])
		default:
			return nil, "", a.errorf("%s: %s is inside a value, not a mapping or list", ptr, where)
		}
	}
	n = deref(n)
	if n == nil || (n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode) {
		return nil, "", a.errorf("%s: the parent is not a mapping or list", ptr)
	}
	return n, toks[len(toks)-1], nil
}

// take returns the value at ptr, removing it when remove is set.
func (a at) take(root *yaml.Node, ptr string, remove bool) (*yaml.Node, *config.Error) {
	n, t, err := a.parent(root, ptr)
	if err != nil {
		return nil, err
	}
	if n.Kind == yaml.MappingNode {
		i := keyIndex(n, t)
		if i < 0 {
			return nil, a.errorf("%s does not exist", ptr)
		}
		v := n.Content[i+1]
		if remove {
			n.Content = slices.Delete(n.Content, i, i+2)
		}
		return v, nil
	}
	j, ierr := strconv.Atoi(t)
	if ierr != nil || j < 0 || j >= len(n.Content) {
		return nil, a.errorf("%s does not exist (the list has %d items)", ptr, len(n.Content))
	}
	v := n.Content[j]
	if remove {
		n.Content = slices.Delete(n.Content, j, j+1)
	}
	return v, nil
}

// set puts v at ptr: add inserts into a list (- appends) or sets a key;
// replace needs the value to exist.
func (a at) set(root *yaml.Node, ptr string, v *yaml.Node, add bool) *config.Error {
	n, t, err := a.parent(root, ptr)
	if err != nil {
		return err
	}
	if n.Kind == yaml.MappingNode {
		i := keyIndex(n, t)
		switch {
		case i >= 0:
			n.Content[i+1] = v
		case add:
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t, Line: a.Line, Column: a.Column}, v)
		default:
			return a.errorf("%s does not exist; use op add to add it", ptr)
		}
		return nil
	}
	if add && t == "-" {
		n.Content = append(n.Content, v)
		return nil
	}
	j, ierr := strconv.Atoi(t)
	limit := len(n.Content)
	if !add {
		limit--
	}
	if ierr != nil || j < 0 || j > limit {
		return a.errorf("%s does not exist (the list has %d items)", ptr, len(n.Content))
	}
	if add {
		n.Content = slices.Insert(n.Content, j, v)
	} else {
		n.Content[j] = v
	}
	return nil
}
