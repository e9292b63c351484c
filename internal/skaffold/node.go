package skaffold

import (
	"fmt"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
)

// reader walks the YAML nodes of one skaffold.yaml and collects every problem
// with the file, line, column and field path of the offending node.
type reader struct {
	file string
	errs config.ErrorList
	// lookupEnv reads the environment for templates; nil means os.LookupEnv.
	lookupEnv func(string) (string, bool)
}

func (r *reader) errorf(n *yaml.Node, path, format string, args ...any) {
	e := &config.Error{File: r.file, Path: path, Msg: path + ": " + fmt.Sprintf(format, args...)}
	if path == "" {
		e.Msg = fmt.Sprintf(format, args...)
	}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	r.errs = append(r.errs, e)
}

// field is what a mapping accepts for one key: a reader of its value, or a
// refusal saying what to use instead.
type field struct {
	read   func(n *yaml.Node, path string)
	refuse string
}

// mapping reads n as a mapping whose keys must be among fields; an unknown
// key or a refused field is an error at the key.
func (r *reader) mapping(n *yaml.Node, path string, fields map[string]field) {
	n = deref(n)
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		r.errorf(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		if seen[k.Value] {
			r.errorf(k, p, "duplicated key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		f, ok := fields[k.Value]
		switch {
		case !ok:
			r.errorf(k, p, "unknown field %q of the Skaffold schema%s", k.Value, known(fields))
		case f.refuse != "":
			r.errorf(k, p, "%s", f.refuse)
		case f.read != nil:
			f.read(v, p)
		}
	}
}

// sequence reads n as a sequence, each item with item.
func (r *reader) sequence(n *yaml.Node, path string, item func(n *yaml.Node, path string)) {
	n = deref(n)
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		r.errorf(n, path, "expected a list, got %s", describe(n))
		return
	}
	for i, c := range n.Content {
		item(c, fmt.Sprintf("%s[%d]", path, i))
	}
}

// str reads a string into dst.
func (r *reader) str(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		n = deref(n)
		if n == nil || isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode || n.Tag == "!!map" || n.Tag == "!!seq" {
			r.errorf(n, path, "expected a string, got %s", describe(n))
			return
		}
		*dst = n.Value
	}
}

// strs reads a list of strings into dst.
func (r *reader) strs(dst *[]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		r.sequence(n, path, func(c *yaml.Node, p string) {
			var s string
			r.str(&s)(c, p)
			*dst = append(*dst, s)
		})
	}
}

// strMap reads a mapping of strings into dst.
func (r *reader) strMap(dst *map[string]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		n = deref(n)
		if n == nil || isNull(n) {
			return
		}
		if n.Kind != yaml.MappingNode {
			r.errorf(n, path, "expected a mapping of strings, got %s", describe(n))
			return
		}
		if *dst == nil {
			*dst = map[string]string{}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			var s string
			r.str(&s)(n.Content[i+1], join(path, n.Content[i].Value))
			(*dst)[n.Content[i].Value] = s
		}
	}
}

// integer reads an int into dst.
func (r *reader) integer(dst *int) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		n = deref(n)
		if n == nil || isNull(n) {
			return
		}
		v, err := strconv.Atoi(n.Value)
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || err != nil {
			r.errorf(n, path, "expected an integer, got %s", describe(n))
			return
		}
		*dst = v
	}
}

// boolean reads a bool into dst.
func (r *reader) boolean(dst *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		n = deref(n)
		if n == nil || isNull(n) {
			return
		}
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			r.errorf(n, path, "expected true or false, got %s", describe(n))
			return
		}
		*dst = n.Value == "true"
	}
}

// at records where a value is, so that errors found later name it.
type at struct {
	File         string
	Line, Column int
	Path         string
}

// nodeAt records where n, at path, is in the file being read.
func (r *reader) nodeAt(n *yaml.Node, path string) at {
	if n == nil {
		return at{File: r.file, Path: path}
	}
	return at{File: r.file, Line: n.Line, Column: n.Column, Path: path}
}

// errorf is an error at a: its path, then the message.
func (a at) errorf(format string, args ...any) *config.Error {
	msg := fmt.Sprintf(format, args...)
	if a.Path != "" {
		msg = a.Path + ": " + msg
	}
	return &config.Error{File: a.File, Line: a.Line, Column: a.Column, Path: a.Path, Msg: msg}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return deref(n.Content[0])
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		}
		return strconv.Quote(n.Value)
	}
	return "an unexpected node"
}

func known(fields map[string]field) string {
	var names []string
	for k, f := range fields {
		if f.refuse == "" {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sortStrings(names)
	s := "; expected one of"
	for i, k := range names {
		if i > 0 {
			s += ","
		}
		s += " " + k
	}
	return s
}
