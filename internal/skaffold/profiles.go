package skaffold

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// profile is one item of a configuration's profiles.
type profile struct {
	at          at
	name        string
	activation  []activation
	requiresAll bool
	// sections are the profile's replacements of top-level fields, in
	// file order.
	sections []section
	patches  []patch
}

type section struct {
	key string
	n   *yaml.Node
}

// activation is one item of a profile's activation: every condition set
// must hold.
type activation struct {
	env, kubeContext, command string
}

// profileSections are the top-level fields a profile may replace.
var profileSections = []string{"build", "deploy", "manifests", "portForward", "test", "verify", "resourceSelector", "customActions"}

// profiles reads the profiles list of a configuration.
func (r *reader) profiles(n *yaml.Node) []profile {
	var out []profile
	seen := map[string]at{}
	r.sequence(n, "profiles", func(n *yaml.Node, p string) {
		pr := profile{at: r.nodeAt(n, p)}
		var nameAt at
		fields := map[string]field{
			"name": {read: func(n *yaml.Node, p string) { nameAt = r.nodeAt(n, p); r.str(&pr.name)(n, p) }},
			"activation": {read: func(n *yaml.Node, p string) {
				r.sequence(n, p, func(n *yaml.Node, p string) { pr.activation = append(pr.activation, r.activation(n, p)) })
			}},
			"requiresAllActivations": {read: r.boolean(&pr.requiresAll)},
			"patches": {read: func(n *yaml.Node, p string) {
				r.sequence(n, p, func(n *yaml.Node, p string) { pr.patches = append(pr.patches, r.patch(n, p)) })
			}},
		}
		for _, k := range profileSections {
			fields[k] = field{read: func(n *yaml.Node, _ string) { pr.sections = append(pr.sections, section{key: k, n: n}) }}
		}
		r.mapping(n, p, fields)
		switch first, dup := seen[pr.name]; {
		case pr.name == "" && deref(n) != nil && deref(n).Kind == yaml.MappingNode:
			r.errorf(n, p+".name", "%s", "required; name the profile (-p NAME selects it)")
		case dup:
			r.errorf(&yaml.Node{Line: nameAt.Line, Column: nameAt.Column}, nameAt.Path,
				"duplicated profile name %q (first at line %d:%d)", pr.name, first.Line, first.Column)
		default:
			seen[pr.name] = nameAt
		}
		out = append(out, pr)
	})
	return out
}

func (r *reader) activation(n *yaml.Node, path string) activation {
	var a activation
	check := func(dst *string, env bool) func(*yaml.Node, string) {
		return func(n *yaml.Node, p string) {
			r.str(dst)(n, p)
			expr := *dst
			if env {
				k, v, ok := strings.Cut(expr, "=")
				if !ok || k == "" {
					r.errorf(n, p, "%q is not KEY=VALUE (VALUE a regular expression, ! before it negates)", expr)
					return
				}
				expr = v
			}
			if _, err := regexp.Compile(strings.TrimPrefix(expr, "!")); err != nil {
				r.errorf(n, p, "invalid regular expression %q: %v", expr, err)
			}
		}
	}
	r.mapping(n, path, map[string]field{
		"env":         {read: check(&a.env, true)},
		"kubeContext": {read: check(&a.kubeContext, false)},
		"command":     {read: check(&a.command, false)},
	})
	return a
}

// matches reports whether every condition of a holds.
func (a activation) matches(lookupEnv func(string) (string, bool), kubeContext, command string) bool {
	if a.env != "" {
		k, v, _ := strings.Cut(a.env, "=")
		got, _ := lookupEnv(k)
		if v == "" && got != "" || v != "" && !regexEqual(v, got) {
			return false
		}
	}
	return (a.kubeContext == "" || regexEqual(a.kubeContext, kubeContext)) &&
		(a.command == "" || regexEqual(a.command, command))
}

// regexEqual matches actual against expected, a regular expression (or
// the exact string), negated by a leading !.
func regexEqual(expected, actual string) bool {
	if e, ok := strings.CutPrefix(expected, "!"); ok {
		return !regexEqual(e, actual)
	}
	if expected == actual {
		return true
	}
	re, err := regexp.Compile(expected)
	return err == nil && re.MatchString(actual)
}

// activated reports whether p's activation holds, and why.
func (p profile) activated(lookupEnv func(string) (string, bool), kubeContext, command string) (bool, string) {
	if len(p.activation) == 0 {
		return false, ""
	}
	n := 0
	for _, a := range p.activation {
		if a.matches(lookupEnv, kubeContext, command) {
			n++
		}
	}
	if n == 0 || p.requiresAll && n < len(p.activation) {
		return false, ""
	}
	var why []string
	for _, a := range p.activation {
		if a.matches(lookupEnv, kubeContext, command) {
			var c []string
			if a.env != "" {
				c = append(c, "env "+a.env)
			}
			if a.kubeContext != "" {
				c = append(c, fmt.Sprintf("kube context %q matches %q", kubeContext, a.kubeContext))
			}
			if a.command != "" {
				c = append(c, fmt.Sprintf("command %q matches %q", command, a.command))
			}
			why = append(why, strings.Join(c, ", "))
		}
	}
	return true, "activation: " + strings.Join(why, "; ")
}

// overlaySection returns base with a profile's section over it, as Skaffold
// overlays a profile: mappings merge key by key, a non-empty list or a
// scalar replaces, and of fields that exclude one another (build.local,
// googleCloudBuild, cluster; the tag policies) the profile's replace the
// base's. Neither node is modified.
func overlaySection(path string, base, over *yaml.Node) *yaml.Node {
	over = deref(over)
	switch {
	case over == nil || isNull(over):
		return base
	case over.Kind == yaml.SequenceNode && len(over.Content) == 0:
		return base
	}
	b := deref(base)
	if b == nil || over.Kind != yaml.MappingNode || b.Kind != yaml.MappingNode {
		return clone(over)
	}
	out := clone(b)
	if group := oneOf[path]; group != nil && slices.ContainsFunc(group, func(k string) bool { return value(over, k) != nil }) {
		out.Content = slices.DeleteFunc(pairs(out), func(kv [2]*yaml.Node) bool { return slices.Contains(group, kv[0].Value) }).flat()
	}
	for i := 0; i+1 < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if j := keyIndex(out, k.Value); j >= 0 {
			out.Content[j+1] = overlaySection(join(path, k.Value), out.Content[j+1], v)
			continue
		}
		out.Content = append(out.Content, clone(k), clone(v))
	}
	return out
}

// oneOf are the groups of fields of which a configuration sets one.
var oneOf = map[string][]string{
	"build":           {"local", "googleCloudBuild", "cluster"},
	"build.tagPolicy": {"gitCommit", "sha256", "envTemplate", "dateTime", "customTemplate", "inputDigest"},
}

type kvs [][2]*yaml.Node

func pairs(m *yaml.Node) kvs {
	var out kvs
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, [2]*yaml.Node{m.Content[i], m.Content[i+1]})
	}
	return out
}

func (p kvs) flat() []*yaml.Node {
	var out []*yaml.Node
	for _, kv := range p {
		out = append(out, kv[0], kv[1])
	}
	return out
}

func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// clone copies n deeply, aliases resolved.
func clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return clone(n.Alias)
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = clone(x)
	}
	return &c
}
