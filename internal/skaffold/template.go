package skaffold

import (
	"os"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"gopkg.in/yaml.v3"
)

// expand executes s as a Skaffold environment template ({{.NAME}} is the
// environment variable NAME), as Skaffold does for the fields it
// templates. A variable that is not set is an error rather than Skaffold's
// "<no value>".
func (r *reader) expand(n *yaml.Node, path, s string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	t, err := template.New(path).Option("missingkey=error").Parse(s)
	if err != nil {
		r.errorf(n, path, "invalid template %q: %v", s, err)
		return s
	}
	lookup := r.lookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	env := map[string]string{}
	var missing []string
	for _, name := range fields(t.Root) {
		if v, ok := lookup(name); ok {
			env[name] = v
		} else if !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		r.errorf(n, path, "the template %q uses %s, which is not set in the environment", s, strings.Join(missing, ", "))
		return s
	}
	var b strings.Builder
	if err := t.Execute(&b, env); err != nil {
		r.errorf(n, path, "the template %q: %v", s, err)
		return s
	}
	return b.String()
}

// fields lists the names of the top-level fields ({{.NAME}}) a template
// uses.
func fields(n parse.Node) []string {
	var out []string
	var walk func(parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			out = append(out, n.Ident[0])
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	walk(n)
	return out
}
