// Package skaffold reads a skaffold.yaml (apiVersion skaffold/v2beta10 to
// skaffold/v4beta14) and translates it into devloop's configuration.
//
// Reading is strict, like devloop.yaml's: an unknown field, a wrong type or
// a field devloop does not honour is a *config.Error with the file, line,
// column and field path, and a refused field's message says what to use
// instead. Nothing is silently ignored.
package skaffold

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
)

// version is a parsed skaffold apiVersion.
type version struct {
	// legacy is true for skaffold/v2*, whose manifests sat under deploy.
	legacy bool
}

var versionRE = regexp.MustCompile(`^skaffold/v(2beta(\d+)|3alpha1|3|4beta(\d+))$`)

// parseVersion accepts skaffold/v2beta10 … skaffold/v4beta14.
func parseVersion(s string) (version, bool) {
	m := versionRE.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	switch {
	case m[2] != "":
		n, _ := strconv.Atoi(m[2])
		return version{legacy: true}, n >= 10 && n <= 29
	case m[3] != "":
		n, _ := strconv.Atoi(m[3])
		return version{}, n >= 1 && n <= 14
	}
	return version{}, true
}

// IsSkaffold reports whether data is a Skaffold configuration (its first
// document's apiVersion starts with skaffold/).
func IsSkaffold(data []byte) bool {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := decodeSafe(dec, &head); err != nil {
		return false
	}
	return strings.HasPrefix(head.APIVersion, "skaffold/")
}

// Options select what Load reads.
type Options struct {
	config.Options
	// Modules select configurations by metadata.name (--module), with what
	// they require; empty selects every configuration of the file.
	Modules []string
	// Command is the devloop command (dev, run, build, render, delete,
	// config), for profiles activated by command.
	Command string
}

// Load reads the skaffold.yaml at path, with the configurations it
// requires, and returns the equivalent devloop configuration, loaded as
// config.Load would load it. The configurations are merged as Skaffold
// merges them: the artifacts, manifests and port forwards of each, the
// required ones first.
func Load(path string, opts Options) (*config.Config, error) {
	g, first, err := configurations(path, opts)
	if err != nil {
		return nil, err
	}
	docs := g.order
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &config.Error{File: path, Msg: fmt.Sprintf("resolving the configuration path: %v", err), Err: err}
	}
	var errs config.ErrorList
	cs := make([]*Skaffold, 0, len(docs))
	for _, d := range docs {
		r := &reader{file: d.file, lookupEnv: opts.LookupEnv}
		s := &Skaffold{File: d.file, Dir: d.dir()}
		root, perrs := g.applied(d)
		if len(perrs) > 0 {
			errs = append(errs, perrs...)
			continue
		}
		r.config(root, s, d.v)
		errs = append(errs, r.errs...)
		cs = append(cs, s)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	key := abs
	if len(opts.Modules) > 0 {
		key += " (modules " + strings.Join(opts.Modules, ", ") + ")"
	}
	doc, where, terr := translate(filepath.Dir(abs), configName(path, abs, first, docs, opts.Modules), cs,
		func(dirs []string) (string, error) { return writeOverlay(key, dirs) })
	if terr != nil {
		return nil, terr
	}
	// The translation is parsed as a devloop.yaml next to skaffold.yaml, so
	// relative paths resolve the same; its errors are moved back onto the
	// skaffold.yaml lines they came from. Its own name says its line numbers
	// (in devloop config's comments) are the translation's.
	cfg, err := config.Parse(path+" translated to devloop.yaml", doc, config.Options{LookupEnv: opts.LookupEnv})
	if err != nil {
		return nil, relocate(path, err, where)
	}
	for _, d := range docs {
		for _, a := range g.active[d] {
			name := a.p.name
			if len(docs) > 1 && d.name != "" {
				name += " (configuration " + d.name + ")"
			}
			cfg.ActiveProfiles = append(cfg.ActiveProfiles, config.ActiveProfile{Name: name, Reason: a.reason})
		}
	}
	return cfg, nil
}

// configName is the devloop configuration's name (in its Path) and where
// it is written: the first module's, else the file's first configuration's,
// else the file's directory's name.
func configName(path, abs string, first *document, docs []*document, modules []string) at {
	named := func(d *document) at { a := d.nameAt; a.Path = d.name; return a }
	for _, d := range docs {
		if len(modules) > 0 && d.name == modules[0] {
			return named(d)
		}
	}
	if len(modules) == 0 && first.name != "" {
		return named(first)
	}
	return at{File: path, Line: 1, Column: 1, Path: dnsLabel(filepath.Base(filepath.Dir(abs)))}
}

// relocate maps the errors of the translated configuration onto the
// skaffold.yaml node each translated field came from.
func relocate(name string, err error, where map[string]at) error {
	var list config.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	out := make(config.ErrorList, 0, len(list))
	for _, e := range list {
		c := *e
		c.File = name
		p := e.Path
		for {
			if a, ok := where[p]; ok {
				if p != "" && strings.HasPrefix(c.Msg, p) {
					c.Msg = a.Path + strings.TrimPrefix(c.Msg, p)
				}
				c.Line, c.Column, c.Path = a.Line, a.Column, a.Path+strings.TrimPrefix(e.Path, p)
				if a.File != "" {
					c.File = a.File
				}
				break
			}
			i := strings.LastIndexAny(p, ".[")
			if i < 0 {
				c.Line, c.Column = 1, 1
				break
			}
			p = p[:i]
		}
		out = append(out, &c)
	}
	return out
}
