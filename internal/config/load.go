package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Load reads, decodes, merges the selected profiles into, defaults and validates the
// configuration file at path. Errors are an ErrorList of *Error (or one *Error when the
// file cannot be read); see the package documentation.
func Load(path string, opts Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read the configuration: %v", err), Err: err}
	}
	return Parse(path, data, opts)
}

// Parse is Load for data already read; name is the file name used in messages and the
// base of relative paths.
func Parse(name string, data []byte, opts Options) (*Config, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return nil, &Error{File: name, Msg: fmt.Sprintf("resolving the configuration path: %v", err), Err: err}
	}
	root, perr := parseDocument(name, data)
	if perr != nil {
		return nil, ErrorList{perr}
	}

	// First pass: the whole file, profiles included, for every shape error at once.
	d1 := newDecoder(name, nil)
	var all Config
	d1.decode(root, reflect.ValueOf(&all).Elem(), "", false)
	checkHeader(d1, &all)
	checkProfiles(d1, all.Profiles)
	if len(d1.errs) > 0 {
		return nil, d1.errs.sorted()
	}

	active, selErr := selectProfiles(name, all.Profiles, opts)
	if selErr != nil {
		return nil, ErrorList{selErr}
	}

	// Second pass: the top level with the active profiles merged in, decoded once.
	merged, profileOf := mergeProfiles(root, active)
	d2 := newDecoder(name, profileOf)
	c := &Config{}
	d2.decode(merged, reflect.ValueOf(c).Elem(), "", false)
	if len(d2.errs) > 0 {
		return nil, d2.errs.sorted()
	}
	c.Profiles = all.Profiles
	for _, a := range active {
		c.ActiveProfiles = append(c.ActiveProfiles, ActiveProfile{Name: a.profile.Name, Reason: a.reason})
	}
	c.File, c.Dir, c.display, c.origins = abs, filepath.Dir(abs), name, d2.origins

	applyDefaults(c)
	resolvePaths(c)
	if errs := expandEnv(c, opts.LookupEnv); len(errs) > 0 {
		return nil, errs
	}
	if errs := validate(c); len(errs) > 0 {
		return nil, errs.sorted()
	}
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument parses data as exactly one YAML document whose root is a mapping.
func parseDocument(name string, data []byte) (root *yaml.Node, err *Error) {
	expected := "expected a devloop configuration starting with apiVersion: " + APIVersion + " and kind: " + Kind
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if derr := decodeNode(dec, &doc); derr != nil {
		if errors.Is(derr, io.EOF) {
			return nil, &Error{File: name, Line: 1, Column: 1, Msg: "the file is empty; " + expected}
		}
		e := &Error{File: name, Msg: "not valid YAML: " + derr.Error(), Err: derr}
		if m := yamlLineRE.FindStringSubmatch(derr.Error()); m != nil {
			e.Line, _ = strconv.Atoi(m[1])
			e.Msg = "not valid YAML: " + m[2]
		}
		return nil, e
	}
	if len(doc.Content) == 0 {
		return nil, &Error{File: name, Line: 1, Column: 1, Msg: "the file is empty; " + expected}
	}
	var next yaml.Node
	if derr := decodeNode(dec, &next); !errors.Is(derr, io.EOF) {
		e := &Error{File: name, Msg: "more than one YAML document; expected exactly one"}
		if derr == nil {
			e.Line, e.Column = next.Line, next.Column
		}
		return nil, e
	}
	root = doc.Content[0]
	if r := deref(root); r == nil || r.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: root.Line, Column: root.Column, Msg: fmt.Sprintf("%s, got %s", expected, describeOrNil(r))}
	}
	return root, nil
}

// decodeNode decodes one document, turning a panic of the YAML library into an error:
// a malformed file must never crash the CLI.
func decodeNode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

// checkHeader checks apiVersion and kind.
func checkHeader(d *decoder, c *Config) {
	if c.APIVersion != "" && c.APIVersion != APIVersion {
		o := d.origins["apiVersion"]
		d.errs = append(d.errs, &Error{File: d.file, Line: o.Line, Column: o.Column, Path: "apiVersion",
			Msg: fmt.Sprintf("unsupported apiVersion %q; expected %s", c.APIVersion, APIVersion)})
	}
	if c.Kind != "" && c.Kind != Kind {
		o := d.origins["kind"]
		d.errs = append(d.errs, &Error{File: d.file, Line: o.Line, Column: o.Column, Path: "kind",
			Msg: fmt.Sprintf("unsupported kind %q; expected %s", c.Kind, Kind)})
	}
}

// checkProfiles checks what profile selection relies on: unique valid names and
// compilable activation expressions, for every profile, active or not.
func checkProfiles(d *decoder, ps []Profile) {
	seen := map[string]int{}
	for i, p := range ps {
		base := fmt.Sprintf("profiles[%d]", i)
		if p.Name != "" {
			if !isDNSLabel(p.Name) {
				o := d.origins[base+".name"]
				d.errs = append(d.errs, &Error{File: d.file, Line: o.Line, Column: o.Column, Path: base + ".name",
					Msg: fmt.Sprintf("%s.name: %q is not a valid profile name; expected lower-case letters, digits and '-' (a DNS label)", base, p.Name)})
			}
			if j, dup := seen[p.Name]; dup {
				o, first := d.origins[base+".name"], d.origins[fmt.Sprintf("profiles[%d].name", j)]
				d.errs = append(d.errs, &Error{File: d.file, Line: o.Line, Column: o.Column, Path: base + ".name",
					Msg: fmt.Sprintf("duplicated profile name %q (first declared at line %d:%d); profile names must be unique", p.Name, first.Line, first.Column)})
			} else {
				seen[p.Name] = i
			}
		}
		if re := p.Activation.KubeContext; re != "" {
			if _, err := compileActivation(re); err != nil {
				path := base + ".activation.kubeContext"
				o := d.origins[path]
				d.errs = append(d.errs, &Error{File: d.file, Line: o.Line, Column: o.Column, Path: path,
					Msg: fmt.Sprintf("%s: invalid regular expression %q: %v", path, re, err), Err: err})
			}
		}
	}
}
