package skaffold

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
)

// document is one configuration of a skaffold.yaml: one YAML document of
// the file, with its header checked and its name read.
type document struct {
	// file is the file's name in messages; abs its absolute path.
	file, abs string
	root      *yaml.Node
	v         version
	// name is metadata.name, empty when the configuration has none.
	name   string
	nameAt at
}

// readDocuments splits data, the skaffold.yaml file (its absolute path
// abs), into its configurations. Every document must be a Skaffold
// configuration of an accepted apiVersion; empty documents are skipped.
func readDocuments(file, abs string, data []byte) ([]*document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*document
	var errs config.ErrorList
	for {
		var n yaml.Node
		err := decodeSafe(dec, &n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, config.ErrorList{yamlError(file, err)}
		}
		root := deref(&n)
		if root == nil || isNull(root) {
			continue
		}
		d, derr := newDocument(file, abs, root)
		if derr != nil {
			errs = append(errs, derr)
			continue
		}
		docs = append(docs, d)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(docs) == 0 {
		return nil, config.ErrorList{{File: file, Line: 1, Column: 1, Msg: "the file is empty; expected a Skaffold configuration (apiVersion: skaffold/v4beta14, kind: Config)"}}
	}
	return docs, nil
}

// newDocument checks the header of one configuration and reads its name.
func newDocument(file, abs string, root *yaml.Node) (*document, *config.Error) {
	if root.Kind != yaml.MappingNode {
		return nil, &config.Error{File: file, Line: root.Line, Column: root.Column, Msg: "expected a Skaffold configuration (a mapping with apiVersion: skaffold/v4beta14 and kind: Config)"}
	}
	d := &document{file: file, abs: abs, root: root}
	avNode := value(root, "apiVersion")
	if avNode == nil {
		return nil, &config.Error{File: file, Line: root.Line, Column: root.Column, Path: "apiVersion",
			Msg: "apiVersion: required; expected skaffold/v2beta10 to skaffold/v4beta14"}
	}
	v, ok := parseVersion(avNode.Value)
	if !ok {
		return nil, &config.Error{File: file, Line: avNode.Line, Column: avNode.Column, Path: "apiVersion",
			Msg: fmt.Sprintf("apiVersion: unsupported %q; devloop reads skaffold/v2beta10 to skaffold/v4beta14 (run skaffold fix to upgrade an older file)", avNode.Value)}
	}
	d.v = v
	if m := value(root, "metadata"); m != nil && m.Kind == yaml.MappingNode {
		if n := value(m, "name"); n != nil && n.Kind == yaml.ScalarNode && !isNull(n) {
			d.name, d.nameAt = n.Value, at{File: file, Line: n.Line, Column: n.Column, Path: "metadata.name"}
		}
	}
	return d, nil
}

// dir is the directory the configuration's relative paths resolve against.
func (d *document) dir() string { return filepath.Dir(d.abs) }

// label names the configuration in messages: its name and file.
func (d *document) label() string {
	if d.name == "" {
		return fmt.Sprintf("the configuration at %s:%d", d.file, d.root.Line)
	}
	return fmt.Sprintf("%q (%s)", d.name, d.file)
}

// value is the value node of key in mapping m, or nil.
func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return deref(m.Content[i+1])
		}
	}
	return nil
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
