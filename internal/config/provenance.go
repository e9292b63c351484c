package config

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Origin says where an effective value came from.
type Origin struct {
	// File, Line and Column locate the value's node (zero for defaults).
	File         string
	Line, Column int
	// Profile is the profile that set the value; empty for the top level.
	Profile string
	// Default is true when no file or profile set the value.
	Default bool
}

// String renders the origin as "devloop.yaml:12:5", "profile prod at devloop.yaml:40:9"
// or "default".
func (o Origin) String() string {
	switch {
	case o.Default:
		return "default"
	case o.Profile != "":
		return fmt.Sprintf("profile %s at %s:%d:%d", o.Profile, o.File, o.Line, o.Column)
	default:
		return fmt.Sprintf("%s:%d:%d", o.File, o.Line, o.Column)
	}
}

// Origin returns where the effective value at path came from. Paths use the YAML field
// names: "registry", "deploy.kustomize.path", "build.artifacts[0].image",
// "build.artifacts[0].buildArgs.VERSION". ok is false for a value nothing set.
func (c *Config) Origin(path string) (o Origin, ok bool) {
	o, ok = c.origins[path]
	return o, ok
}

// Render returns the effective configuration as YAML, every value annotated with a
// comment saying where it came from (file:line:column, a profile, or default). Profile
// declarations are left out: they are already merged. Unset empty values are left out.
func (c *Config) Render() ([]byte, error) {
	body := renderValue(c, reflect.ValueOf(*c), "")
	var head []string
	head = append(head, "Effective configuration of "+c.File)
	if len(c.ActiveProfiles) == 0 {
		head = append(head, "active profiles: none")
	}
	for _, a := range c.ActiveProfiles {
		head = append(head, fmt.Sprintf("active profile %s: %s", a.Name, a.Reason))
	}
	if len(c.Profiles) > 0 {
		names := make([]string, len(c.Profiles))
		for i, p := range c.Profiles {
			names[i] = p.Name
		}
		head = append(head, "declared profiles: "+strings.Join(names, ", "))
	}
	body.HeadComment = strings.Join(head, "\n")
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{body}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("rendering the configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("rendering the configuration: %w", err)
	}
	return buf.Bytes(), nil
}

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

// renderValue turns v into a node; leaves carry their origin as a line comment.
func renderValue(c *Config, v reflect.Value, path string) *yaml.Node {
	comment := func(n *yaml.Node) *yaml.Node {
		if o, ok := c.origins[path]; ok {
			n.LineComment = o.String()
		}
		return n
	}
	switch {
	case v.Type() == durationType:
		return comment(scalar("!!str", formatDuration(time.Duration(v.Int()))))
	case v.Kind() == reflect.String:
		return comment(scalar("!!str", v.String()))
	case v.Kind() == reflect.Int:
		return comment(scalar("!!int", strconv.FormatInt(v.Int(), 10)))
	case v.Kind() == reflect.Bool:
		return comment(scalar("!!bool", strconv.FormatBool(v.Bool())))
	case v.Kind() == reflect.Map:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		sort.Strings(keys)
		for _, k := range keys {
			val := scalar("!!str", v.MapIndex(reflect.ValueOf(k)).String())
			if o, ok := c.origins[path+"."+k]; ok {
				val.LineComment = o.String()
			}
			n.Content = append(n.Content, scalar("!!str", k), val)
		}
		if len(keys) == 0 {
			n.Style = yaml.FlowStyle
			comment(n)
		}
		return n
	case v.Kind() == reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			n.Content = append(n.Content, renderValue(c, v.Index(i), fmt.Sprintf("%s[%d]", path, i)))
		}
		if v.Type().Elem().Kind() != reflect.Struct || v.Len() == 0 {
			n.Style = yaml.FlowStyle
			for _, item := range n.Content {
				item.LineComment = ""
			}
			comment(n)
		}
		return n
	case v.Kind() == reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range fieldsOf(v.Type()) {
			if path == "" && f.name == "profiles" {
				continue
			}
			fp := joinPath(path, f.name)
			fv := v.Field(f.index)
			if _, set := c.origins[fp]; !set && fv.IsZero() {
				continue
			}
			val := renderValue(c, fv, fp)
			if val.Kind == yaml.MappingNode && len(val.Content) == 0 {
				val.Style = yaml.FlowStyle
			}
			n.Content = append(n.Content, scalar("!!str", f.name), val)
		}
		return n
	}
	return scalar("!!null", "")
}

// formatDuration writes a duration the way people write it: 5m, 1h30m, 80ms.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
