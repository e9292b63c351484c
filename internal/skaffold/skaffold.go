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
	"io"
	"os"
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

// Read decodes the skaffold.yaml data named name.
func Read(name string, data []byte) (*Skaffold, error) {
	r := &reader{file: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := decodeSafe(dec, &doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, config.ErrorList{{File: name, Line: 1, Column: 1, Msg: "the file is empty; expected a Skaffold configuration (apiVersion: skaffold/v4beta14, kind: Config)"}}
		}
		return nil, config.ErrorList{yamlError(name, err)}
	}
	var next yaml.Node
	if err := decodeSafe(dec, &next); err == nil {
		return nil, config.ErrorList{{File: name, Line: next.Line, Column: next.Column,
			Msg: "several configurations in one file (---) are not read by devloop yet; keep one configuration per skaffold.yaml"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, config.ErrorList{yamlError(name, err)}
	}
	root := deref(&doc)
	if root == nil || root.Kind != yaml.MappingNode {
		return nil, config.ErrorList{{File: name, Line: 1, Column: 1, Msg: "expected a Skaffold configuration (a mapping with apiVersion: skaffold/v4beta14 and kind: Config)"}}
	}
	var apiVersion string
	var avNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "apiVersion" {
			avNode = root.Content[i+1]
			apiVersion = avNode.Value
		}
	}
	if avNode == nil {
		return nil, config.ErrorList{{File: name, Line: root.Line, Column: root.Column, Path: "apiVersion",
			Msg: "apiVersion: required; expected skaffold/v2beta10 to skaffold/v4beta14"}}
	}
	v, ok := parseVersion(apiVersion)
	if !ok {
		return nil, config.ErrorList{{File: name, Line: avNode.Line, Column: avNode.Column, Path: "apiVersion",
			Msg: fmt.Sprintf("apiVersion: unsupported %q; devloop reads skaffold/v2beta10 to skaffold/v4beta14 (run skaffold fix to upgrade an older file)", apiVersion)}}
	}
	s := &Skaffold{}
	r.config(root, s, v)
	if len(r.errs) > 0 {
		return nil, r.errs
	}
	return s, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlError(name string, err error) *config.Error {
	e := &config.Error{File: name, Msg: "not valid YAML: " + err.Error(), Err: err}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = "not valid YAML: " + m[2]
	}
	return e
}

// decodeSafe turns a panic of the YAML library into an error.
func decodeSafe(dec *yaml.Decoder, v any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("yaml: %v", p)
		}
	}()
	return dec.Decode(v)
}

// Load reads the skaffold.yaml at path and returns the equivalent devloop
// configuration, loaded as config.Load would load it.
func Load(path string, opts config.Options) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &config.Error{File: path, Msg: fmt.Sprintf("cannot read the configuration: %v", err), Err: err}
	}
	return Parse(path, data, opts)
}

// Parse is Load for data already read.
func Parse(name string, data []byte, opts config.Options) (*config.Config, error) {
	s, err := Read(name, data)
	if err != nil {
		return nil, err
	}
	if len(opts.Profiles) > 0 {
		return nil, config.ErrorList{{File: name, Line: 1, Column: 1, Path: "profiles",
			Msg: fmt.Sprintf("profile %q: devloop does not read Skaffold profiles yet; remove -p or write a devloop.yaml with profiles", opts.Profiles[0])}}
	}
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, &config.Error{File: name, Msg: fmt.Sprintf("resolving the configuration path: %v", err), Err: err}
	}
	doc, where, terr := Translate(name, filepath.Dir(abs), s)
	if terr != nil {
		return nil, terr
	}
	// The translation is parsed as a devloop.yaml next to skaffold.yaml, so
	// relative paths resolve the same; its errors are moved back onto the
	// skaffold.yaml lines they came from. Its own name says its line numbers
	// (in devloop config's comments) are the translation's.
	cfg, err := config.Parse(name+" translated to devloop.yaml", doc, opts)
	if err != nil {
		return nil, relocate(name, err, where)
	}
	return cfg, nil
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
				if e.Path != "" && strings.HasPrefix(c.Msg, e.Path) {
					c.Msg = a.Path + strings.TrimPrefix(c.Msg, e.Path)
				}
				c.Line, c.Column, c.Path = a.Line, a.Column, a.Path
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
