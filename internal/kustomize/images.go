package kustomize

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// SetImages sets, for each image name, newName/newTag or digest in the
// kustomization file at path, as `kustomize edit set image` would, keeping
// the file's comments and the order of its keys and entries. devloop only
// does this when asked (`devloop build --write-overlay`), for GitOps
// repositories and CI. refs maps image names to references such as
// "notes-web:3f2a", "127.0.0.1:5000/notes-web:3f2a" or
// "127.0.0.1:5000/notes-web@sha256:...".
func SetImages(path string, refs map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	out, err := setImages(data, refs)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	tmp := path + ".devloop-tmp"
	if err := os.WriteFile(tmp, out, info.Mode().Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	return nil
}

func setImages(data []byte, refs map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a kustomization: the document is not a mapping")
	}
	root := doc.Content[0]
	images := value(root, "images")
	if images == nil {
		images = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, str("images"), images)
	}
	if images.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("images: want a list")
	}
	names := make([]string, 0, len(refs))
	for n := range refs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		newName, newTag, digest := split(refs[name])
		entry := findEntry(images, name)
		if entry == nil {
			entry = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{str("name"), str(name)}}
			images.Content = append(images.Content, entry)
		}
		set(entry, "newName", newName, newName != name)
		set(entry, "newTag", newTag, newTag != "")
		set(entry, "digest", digest, digest != "")
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return buf.Bytes(), nil
}

// split cuts a reference into repository, tag and digest.
func split(ref string) (name, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

func value(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func findEntry(seq *yaml.Node, name string) *yaml.Node {
	for _, e := range seq.Content {
		if e.Kind == yaml.MappingNode {
			if v := value(e, "name"); v != nil && v.Value == name {
				return e
			}
		}
	}
	return nil
}

// set writes key: v in m when keep, and removes the key otherwise.
func set(m *yaml.Node, key, v string, keep bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			if keep {
				m.Content[i+1].Value, m.Content[i+1].Tag, m.Content[i+1].Style = v, "!!str", 0
			} else {
				m.Content = append(m.Content[:i], m.Content[i+2:]...)
			}
			return
		}
	}
	if keep {
		m.Content = append(m.Content, str(key), str(v))
	}
}

func str(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
