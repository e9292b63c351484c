// Package scaffold writes a first devloop.yaml for a project: one artifact
// per Dockerfile whose image the manifests use, the kustomize overlay (a
// kustomization.yaml is proposed for a directory of plain manifests), and a
// port-forward to the first Service. Detect reads the project; Render turns
// what was found into a commented devloop.yaml.
package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/devloop-dev/devloop/internal/kustomize"
)

// Project is what Detect found.
type Project struct {
	// Name is a DNS label made from the directory's name.
	Name string
	// Artifacts are the Dockerfile directories matched to an image the
	// manifests use, in path order.
	Artifacts []Artifact
	// Unused are Dockerfile directories no manifest image matched.
	Unused []string
	// Overlay is the kustomize directory to deploy, relative to the project.
	Overlay string
	// NewKustomization, when not empty, is a kustomization.yaml to write
	// into Overlay (the project has plain manifests only).
	NewKustomization string
	// Forward is the first Service and its first port, when there is one.
	Forward *Forward
}

// Artifact is one image to build.
type Artifact struct {
	Image, Context string
}

// Forward is a port-forward to a Service.
type Forward struct {
	Service   string
	Port      int
	LocalPort int
}

var skipDirs = []string{".git", "node_modules", "vendor", ".venv", "__pycache__", "bin", ".cache"}

// Detect reads the project in dir.
func Detect(ctx context.Context, dir string) (*Project, error) {
	p := &Project{Name: dnsLabel(filepath.Base(dir))}
	var dockerfiles, kustomizations, manifestDirs []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory is left out
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			if rel != "." && slices.Contains(skipDirs, d.Name()) {
				return filepath.SkipDir
			}
			if _, err := kustomize.File(path); err == nil {
				kustomizations = append(kustomizations, filepath.ToSlash(rel))
			}
			return nil
		}
		switch {
		case d.Name() == "Dockerfile":
			dockerfiles = append(dockerfiles, filepath.ToSlash(filepath.Dir(rel)))
		case (strings.HasSuffix(d.Name(), ".yaml") || strings.HasSuffix(d.Name(), ".yml")) && isManifest(path):
			manifestDirs = appendOnce(manifestDirs, filepath.ToSlash(filepath.Dir(rel)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	if len(dockerfiles) == 0 {
		return nil, fmt.Errorf("no Dockerfile under %s: devloop builds images from Dockerfiles", dir)
	}
	var objs []*unstructured.Unstructured
	switch {
	case len(kustomizations) > 0:
		p.Overlay = chooseOverlay(kustomizations)
		if objs, err = kustomize.Build(ctx, filepath.Join(dir, filepath.FromSlash(p.Overlay))); err != nil {
			return nil, fmt.Errorf("rendering %s: %w", p.Overlay, err)
		}
	case len(manifestDirs) > 0:
		sort.Strings(manifestDirs)
		p.Overlay = manifestDirs[0]
		files, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(p.Overlay), "*.y*ml"))
		if err != nil {
			return nil, err
		}
		var b strings.Builder
		b.WriteString("# Written by devloop init: the manifests of this directory, for devloop to render.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
		for _, f := range files {
			if !isManifest(f) {
				continue
			}
			fmt.Fprintf(&b, "  - %s\n", filepath.Base(f))
			more, err := decodeManifests(f)
			if err != nil {
				return nil, err
			}
			objs = append(objs, more...)
		}
		p.NewKustomization = b.String()
	default:
		return nil, fmt.Errorf("no kustomization and no Kubernetes manifests under %s: devloop deploys a kustomize overlay (or a directory of manifests)", dir)
	}
	images := manifestImages(objs)
	for _, d := range dockerfiles {
		if img := matchImage(d, p.Name, images); img != "" {
			p.Artifacts = append(p.Artifacts, Artifact{Image: img, Context: d})
		} else {
			p.Unused = append(p.Unused, d)
		}
	}
	if len(p.Artifacts) == 0 {
		return nil, fmt.Errorf("none of the Dockerfiles (%s) builds an image the manifests use (%s): name the image after the Dockerfile's directory, or write devloop.yaml by hand",
			strings.Join(dockerfiles, ", "), strings.Join(images, ", "))
	}
	p.Forward = firstService(objs)
	return p, nil
}

// chooseOverlay prefers a dev overlay, then any overlay, then the
// shallowest kustomization.
func chooseOverlay(ks []string) string {
	sort.Slice(ks, func(i, j int) bool {
		di, dj := strings.Count(ks[i], "/"), strings.Count(ks[j], "/")
		if di != dj {
			return di < dj
		}
		return ks[i] < ks[j]
	})
	for _, want := range []string{"overlays/dev", "overlays/local", "overlays/"} {
		for _, k := range ks {
			if strings.Contains(k+"/", want) {
				return k
			}
		}
	}
	return ks[0]
}

var kindLine = regexp.MustCompile(`(?m)^kind:\s*\S+`)

func isManifest(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 1<<20 {
		return false
	}
	s := string(b)
	return strings.Contains(s, "apiVersion:") && kindLine.MatchString(s) && !strings.Contains(s, "kind: Kustomization")
}

// manifestImages are the repositories of the pod templates' images.
func manifestImages(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		for _, path := range [][]string{{"spec", "template", "spec"}, {"spec", "jobTemplate", "spec", "template", "spec"}, {"spec"}} {
			spec, ok, _ := unstructured.NestedMap(o.Object, path...)
			if !ok {
				continue
			}
			for _, key := range []string{"initContainers", "containers"} {
				cs, _, _ := unstructured.NestedSlice(spec, key)
				for _, c := range cs {
					m, _ := c.(map[string]any)
					img, _ := m["image"].(string)
					if img == "" {
						continue
					}
					if n, err := reference.ParseNormalizedNamed(img); err == nil {
						img = reference.FamiliarName(n)
					}
					out = appendOnce(out, img)
				}
			}
			break
		}
	}
	return out
}

// matchImage is the manifest image a Dockerfile directory builds: the one
// named like the directory (web → web, notes-web, web-app, ghcr.io/x/web).
func matchImage(dir, project string, images []string) string {
	base := dnsLabel(filepath.Base(dir))
	if dir == "." {
		base = project
	}
	for _, exact := range []bool{true, false} {
		for _, img := range images {
			last := img[strings.LastIndex(img, "/")+1:]
			if last == base || (!exact && (strings.HasSuffix(last, "-"+base) || strings.HasPrefix(last, base+"-"))) {
				return img
			}
		}
	}
	return ""
}

// firstService is the Service a browser tab most likely wants: named like a
// frontend or on a web port, never a headless one; else the first.
func firstService(objs []*unstructured.Unstructured) *Forward {
	var best *Forward
	bestScore := -1
	for _, o := range objs {
		if o.GetKind() != "Service" || o.GetAPIVersion() != "v1" {
			continue
		}
		ports, _, _ := unstructured.NestedSlice(o.Object, "spec", "ports")
		if len(ports) == 0 {
			continue
		}
		m, _ := ports[0].(map[string]any)
		port, ok := m["port"].(int64)
		if !ok {
			continue
		}
		score := 0
		if ip, _, _ := unstructured.NestedString(o.Object, "spec", "clusterIP"); ip == "None" {
			continue // headless: the pods of a StatefulSet, not a page
		}
		if webName.MatchString(o.GetName()) {
			score += 2
		}
		if slices.Contains([]int64{80, 443, 3000, 5000, 8000, 8080}, port) {
			score++
		}
		if score > bestScore {
			local := int(port)
			if local < 1024 {
				local = 8080
			}
			best, bestScore = &Forward{Service: o.GetName(), Port: int(port), LocalPort: local}, score
		}
	}
	return best
}

var webName = regexp.MustCompile(`web|front|ui|app|http|site|portal`)

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

func dnsLabel(s string) string {
	s = strings.Trim(notLabel.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 63 {
		s = strings.Trim(s[:63], "-")
	}
	if s == "" {
		return "app"
	}
	return s
}

// decodeManifests reads the objects of a YAML file of manifests.
func decodeManifests(path string) ([]*unstructured.Unstructured, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decoding %s: %w", path, err)
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}
