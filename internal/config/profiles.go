package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// selected is a profile chosen for merging, with its node and reason.
type selected struct {
	profile Profile
	index   int
	reason  string
}

// compileActivation compiles an activation expression so that it must match the whole
// context name: "prod-.*" matches "prod-eu" but not "nonprod-eu".
func compileActivation(expr string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + expr + `)$`)
}

// selectProfiles returns the profiles to apply: the ones activated by the kube context
// in file order, then the explicitly named ones in the order given (a profile is applied
// once, at its explicit position if it has one).
func selectProfiles(file string, ps []Profile, opts Options) ([]selected, *Error) {
	index := map[string]int{}
	for i, p := range ps {
		index[p.Name] = i
	}
	explicit := map[string]bool{}
	for _, name := range opts.Profiles {
		if _, ok := index[name]; !ok {
			known := "this file declares no profiles"
			if len(ps) > 0 {
				names := make([]string, len(ps))
				for i, p := range ps {
					names[i] = p.Name
				}
				known = "known profiles: " + strings.Join(names, ", ")
			}
			return nil, &Error{File: file, Path: "profiles", Msg: fmt.Sprintf("unknown profile %q; %s", name, known)}
		}
		explicit[name] = true
	}
	var out []selected
	if opts.KubeContext != "" {
		for i, p := range ps {
			if p.Activation.KubeContext == "" || explicit[p.Name] {
				continue
			}
			re, err := compileActivation(p.Activation.KubeContext)
			if err != nil || !re.MatchString(opts.KubeContext) {
				continue
			}
			out = append(out, selected{profile: p, index: i,
				reason: fmt.Sprintf("kube context %q matches activation.kubeContext %q", opts.KubeContext, p.Activation.KubeContext)})
		}
	}
	done := map[string]bool{}
	for _, name := range opts.Profiles {
		if done[name] {
			continue
		}
		done[name] = true
		i := index[name]
		out = append(out, selected{profile: ps[i], index: i, reason: "selected with --profile"})
	}
	return out, nil
}

// profileKeys are the keys of a profile that are not overrides.
var profileKeys = []string{"name", "activation"}

// mergeProfiles returns the top-level mapping without its profiles, with the bodies of
// the active profiles merged in order, and the map from every node a profile contributed
// to the profile's name. Mappings merge key by key, recursively; lists and scalars
// replace. root's nodes are not modified.
func mergeProfiles(root *yaml.Node, active []selected) (*yaml.Node, map[*yaml.Node]string) {
	r := deref(root)
	base := shallowMapping(r)
	var profileNodes []*yaml.Node
	for i := 0; i+1 < len(r.Content); i += 2 {
		if k := deref(r.Content[i]); k != nil && k.Value == "profiles" {
			if seq := deref(r.Content[i+1]); seq != nil && seq.Kind == yaml.SequenceNode {
				profileNodes = seq.Content
			}
			continue
		}
		base.Content = append(base.Content, r.Content[i], r.Content[i+1])
	}
	profileOf := map[*yaml.Node]string{}
	merged := base
	for _, a := range active {
		body := deref(profileNodes[a.index])
		over := shallowMapping(body)
		for i := 0; i+1 < len(body.Content); i += 2 {
			if k := deref(body.Content[i]); k != nil && slices.Contains(profileKeys, k.Value) {
				continue
			}
			over.Content = append(over.Content, body.Content[i], body.Content[i+1])
			mark(body.Content[i+1], a.profile.Name, profileOf, 0)
		}
		merged = mergeNodes(merged, over)
	}
	return merged, profileOf
}

func shallowMapping(n *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
}

// mark records every node under n as coming from profile name.
func mark(n *yaml.Node, name string, into map[*yaml.Node]string, depth int) {
	if n == nil || depth > 100 {
		return
	}
	into[n] = name
	for _, c := range n.Content {
		mark(c, name, into, depth+1)
	}
}

// mergeNodes overlays over onto base: two mappings merge key by key, anything else is
// replaced by over.
func mergeNodes(base, over *yaml.Node) *yaml.Node {
	b, o := deref(base), deref(over)
	if b == nil || o == nil || b.Kind != yaml.MappingNode || o.Kind != yaml.MappingNode {
		return over
	}
	out := *b
	out.Content = slices.Clone(b.Content)
	for i := 0; i+1 < len(o.Content); i += 2 {
		k := deref(o.Content[i])
		if k == nil {
			continue
		}
		j := findKey(out.Content, k.Value)
		if j < 0 {
			out.Content = append(out.Content, o.Content[i], o.Content[i+1])
			continue
		}
		out.Content[j+1] = mergeNodes(out.Content[j+1], o.Content[i+1])
	}
	return &out
}

func findKey(content []*yaml.Node, key string) int {
	for i := 0; i+1 < len(content); i += 2 {
		if k := deref(content[i]); k != nil && k.Value == key {
			return i
		}
	}
	return -1
}
