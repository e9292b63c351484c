package skaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
)

// require is one item of a configuration's requires.
type require struct {
	at             at
	path           string
	pathAt         at
	configs        []string
	configsAt      []at
	activeProfiles []requiredProfile
}

// requiredProfile is a profile activated in the required configurations,
// always or when one of activatedBy is active in the requiring one.
type requiredProfile struct {
	name        string
	at          at
	activatedBy []string
}

// requires reads the requires list of a configuration.
func (r *reader) requires(n *yaml.Node) []require {
	var out []require
	r.sequence(n, "requires", func(n *yaml.Node, p string) {
		q := require{at: r.nodeAt(n, p)}
		r.mapping(n, p, map[string]field{
			"path": {read: func(n *yaml.Node, p string) { q.pathAt = r.nodeAt(n, p); r.str(&q.path)(n, p) }},
			"configs": {read: func(n *yaml.Node, p string) {
				r.sequence(n, p, func(n *yaml.Node, p string) {
					var s string
					r.str(&s)(n, p)
					q.configs, q.configsAt = append(q.configs, s), append(q.configsAt, r.nodeAt(n, p))
				})
			}},
			"git": {refuse: "devloop does not fetch configurations from git; clone the repository and name its directory in requires[].path"},
			"activeProfiles": {read: func(n *yaml.Node, p string) {
				r.sequence(n, p, func(n *yaml.Node, p string) {
					rp := requiredProfile{at: r.nodeAt(n, p)}
					r.mapping(n, p, map[string]field{
						"name":        {read: func(n *yaml.Node, p string) { rp.at = r.nodeAt(n, p); r.str(&rp.name)(n, p) }},
						"activatedBy": {read: r.strs(&rp.activatedBy)},
					})
					if rp.name == "" && len(r.errs) == 0 {
						r.errorf(n, join(p, "name"), "%s", "required; the profile to activate in the required configurations")
					}
					q.activeProfiles = append(q.activeProfiles, rp)
				})
			}},
		})
		if q.path == "" && len(q.configs) == 0 && len(r.errs) == 0 {
			r.errorf(n, p, "%s", "name the configurations to include: path (a skaffold.yaml or its directory), configs (their metadata.name), or both")
		}
		out = append(out, q)
	})
	return out
}

// graph loads the configurations a skaffold.yaml includes: its own and
// those they require, recursively, as Skaffold does.
type graph struct {
	files   map[string][]*document // by absolute path
	reqs    map[*document][]require
	profs   map[*document][]profile
	modules []string
	opts    Options
	// active are the profiles of each included configuration, in the
	// order they apply.
	active map[*document][]activeProfile
	// done records the documents visited, and whether as included.
	done  map[*document]bool
	order []*document
	errs  config.ErrorList
}

// configurations returns the configurations to deploy, each after the
// ones it requires: with modules, the configurations of those names and
// what they require; without, every configuration of file and what they
// require, and the file's first configuration. A cycle, a missing file or
// name, or a module no configuration has is an error.
func configurations(file string, opts Options) (*graph, *document, error) {
	g := &graph{files: map[string][]*document{}, reqs: map[*document][]require{}, profs: map[*document][]profile{},
		modules: opts.Modules, opts: opts, done: map[*document]bool{}, active: map[*document][]activeProfile{}}
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, nil, &config.Error{File: file, Msg: fmt.Sprintf("resolving the configuration path: %v", err), Err: err}
	}
	docs, err := g.load(file, abs)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range docs {
		g.visit(d, false, nil, nil, at{})
	}
	if len(g.errs) > 0 {
		return nil, nil, unique(g.errs)
	}
	if err := g.checkNames(file); err != nil {
		return nil, nil, err
	}
	if err := g.checkProfiles(file); err != nil {
		return nil, nil, err
	}
	return g, docs[0], nil
}

// load reads and splits the skaffold.yaml at abs, once.
func (g *graph) load(file, abs string) ([]*document, error) {
	if docs, ok := g.files[abs]; ok {
		return docs, nil
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, &config.Error{File: file, Msg: fmt.Sprintf("cannot read the configuration: %v", err), Err: err}
	}
	docs, err := readDocuments(file, abs, data)
	if err != nil {
		return nil, err
	}
	g.files[abs] = docs
	return docs, nil
}

func (g *graph) selected(d *document) bool {
	return len(g.modules) == 0 || (d.name != "" && slices.Contains(g.modules, d.name))
}

// visit includes d after what it requires when included (a module of its
// own, or required by an included configuration). stack is the chain of
// configurations requiring d; inherited the profiles the last of them
// activates in d, by the requires entry via.
func (g *graph) visit(d *document, included bool, stack []*document, inherited []activeProfile, via at) {
	included = included || g.selected(d)
	active := g.activate(d, inherited)
	if included {
		if prev, ok := g.active[d]; ok && !sameProfiles(prev, active) {
			g.errs = append(g.errs, via.errorf("%s is required with the profiles [%s] here and [%s] elsewhere; devloop deploys a configuration once, so require it with the same profiles",
				d.label(), profileNames(active), profileNames(prev)))
			return
		}
		g.active[d] = active
	}
	if was, ok := g.done[d]; ok && (was || !included) {
		return
	}
	g.done[d] = included
	stack = append(stack, d)
	for _, q := range g.requiresOf(d) {
		targets, err := g.resolve(d, q)
		if err != nil {
			g.errs = append(g.errs, asList(err)...)
			continue
		}
		for _, t := range targets {
			if i := slices.Index(stack, t); i >= 0 {
				g.errs = append(g.errs, q.at.errorf("a cycle of requires: %s", cycle(stack[i:], t)))
				continue
			}
			pass, perr := g.passed(d, t, q, active)
			if perr != nil {
				g.errs = append(g.errs, perr...)
				continue
			}
			g.visit(t, included, stack, pass, q.at)
		}
	}
	if included && !slices.Contains(g.order, d) {
		g.order = append(g.order, d)
	}
}

// requiresOf reads d's requires, once.
func (g *graph) requiresOf(d *document) []require {
	if qs, ok := g.reqs[d]; ok {
		return qs
	}
	var qs []require
	if n := value(d.root, "requires"); n != nil {
		r := &reader{file: d.file}
		qs = r.requires(n)
		g.errs = append(g.errs, r.errs...)
		if len(r.errs) > 0 {
			qs = nil
		}
	}
	g.reqs[d] = qs
	return qs
}

// resolve returns the configurations q names.
func (g *graph) resolve(d *document, q require) ([]*document, error) {
	docs, file := g.files[d.abs], d.file
	if q.path != "" {
		abs := filepath.Join(d.dir(), filepath.FromSlash(q.path))
		file = filepath.Join(filepath.Dir(d.file), filepath.FromSlash(q.path))
		st, err := os.Stat(abs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, q.pathAt.errorf("%s does not exist (relative to %s)", q.path, d.dir())
		case err != nil:
			return nil, q.pathAt.errorf("%v", err)
		case st.IsDir():
			abs, file = filepath.Join(abs, "skaffold.yaml"), filepath.Join(file, "skaffold.yaml")
			if _, err := os.Stat(abs); err != nil {
				return nil, q.pathAt.errorf("%s has no skaffold.yaml", q.path)
			}
		}
		var lerr error
		if docs, lerr = g.load(file, abs); lerr != nil {
			return nil, lerr
		}
	}
	if len(q.configs) == 0 {
		return docs, nil
	}
	var out []*document
	for i, name := range q.configs {
		j := slices.IndexFunc(docs, func(d *document) bool { return d.name == name })
		if j < 0 {
			return nil, q.configsAt[i].errorf("no configuration named %q in %s; %s", name, file, names(docs))
		}
		out = append(out, docs[j])
	}
	return out, nil
}

// checkNames refuses two configurations of one name and a module no
// configuration has.
func (g *graph) checkNames(file string) error {
	var errs config.ErrorList
	first := map[string]*document{}
	var all []*document
	for _, docs := range g.files {
		all = append(all, docs...)
	}
	slices.SortFunc(all, func(a, b *document) int {
		if c := strings.Compare(a.abs, b.abs); c != 0 {
			return c
		}
		return a.root.Line - b.root.Line
	})
	for _, d := range all {
		if d.name == "" {
			continue
		}
		if f, dup := first[d.name]; dup {
			errs = append(errs, d.nameAt.errorf("duplicated configuration name %q (also at %s:%d:%d); each configuration needs its own name", d.name, f.file, f.nameAt.Line, f.nameAt.Column))
			continue
		}
		first[d.name] = d
	}
	for _, m := range g.modules {
		if _, ok := first[m]; !ok {
			errs = append(errs, &config.Error{File: file, Path: "metadata.name",
				Msg: fmt.Sprintf("--module %s: no configuration of %s or of those it requires is named %q; %s", m, file, m, names(all))})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func cycle(chain []*document, back *document) string {
	var parts []string
	for _, d := range chain {
		parts = append(parts, d.label())
	}
	return strings.Join(append(parts, back.label()), " requires ")
}

func names(docs []*document) string {
	var ns []string
	for _, d := range docs {
		if d.name != "" {
			ns = append(ns, d.name)
		}
	}
	if len(ns) == 0 {
		return "its configurations have no metadata.name"
	}
	return "named configurations: " + strings.Join(ns, ", ")
}

// unique drops repeated errors (a configuration visited twice).
func unique(errs config.ErrorList) config.ErrorList {
	seen := map[string]bool{}
	var out config.ErrorList
	for _, e := range errs {
		if k := e.Error(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

func asList(err error) config.ErrorList {
	var l config.ErrorList
	if errors.As(err, &l) {
		return l
	}
	var e *config.Error
	if errors.As(err, &e) {
		return config.ErrorList{e}
	}
	return config.ErrorList{{Msg: err.Error(), Err: err}}
}
