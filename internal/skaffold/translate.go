package skaffold

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/kustomize"
)

// The translated devloop.yaml, field by field in devloop's schema.
type (
	outConfig struct {
		APIVersion  string           `yaml:"apiVersion"`
		Kind        string           `yaml:"kind"`
		Metadata    outMeta          `yaml:"metadata"`
		Build       *outBuild        `yaml:"build,omitempty"`
		Deploy      outDeploy        `yaml:"deploy"`
		PortForward []outPortForward `yaml:"portForward,omitempty"`
	}
	outMeta struct {
		Name string `yaml:"name"`
	}
	outBuild struct {
		Artifacts []outArtifact `yaml:"artifacts"`
	}
	outArtifact struct {
		Image      string            `yaml:"image"`
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile,omitempty"`
		Target     string            `yaml:"target,omitempty"`
		BuildArgs  map[string]string `yaml:"buildArgs,omitempty"`
		Platforms  []string          `yaml:"platforms,omitempty"`
		CacheFrom  []string          `yaml:"cacheFrom,omitempty"`
	}
	outDeploy struct {
		Kustomize     outKustomize `yaml:"kustomize"`
		Namespace     string       `yaml:"namespace,omitempty"`
		StatusTimeout string       `yaml:"statusTimeout,omitempty"`
	}
	outKustomize struct {
		Path string `yaml:"path"`
	}
	outPortForward struct {
		Resource  string `yaml:"resource"`
		Port      int    `yaml:"port"`
		LocalPort int    `yaml:"localPort,omitempty"`
		Address   string `yaml:"address,omitempty"`
		Namespace string `yaml:"namespace,omitempty"`
	}
)

// translate writes the configurations cs (each after those it requires) as
// one devloop.yaml whose relative paths resolve against dir (the
// first skaffold.yaml's directory), and returns, for each devloop field
// path, the skaffold.yaml node it came from. name is the configuration's
// name (in its Path) and where it is written. The manifests of several
// kustomize paths are deployed through one overlay written by overlay.
func translate(dir string, name at, cs []*Skaffold, overlay func(dirs []string) (string, error)) ([]byte, map[string]at, error) {
	var errs config.ErrorList
	where := map[string]at{"metadata.name": name}
	out := outConfig{APIVersion: config.APIVersion, Kind: config.Kind}
	out.Metadata.Name = name.Path
	where["metadata.name"] = at{File: name.File, Line: name.Line, Column: name.Column, Path: "metadata.name"}
	deadline := 0

	var overlays []string
	var overlayAt []at
	built := map[string]at{}
	for _, s := range cs {
		for _, a := range s.Artifacts {
			if first, dup := built[a.Image]; dup {
				e := a.At
				e.Path += ".image"
				errs = append(errs, e.errorf("%q is already built by %s at %s:%d:%d; each image must be built by one artifact",
					a.Image, first.Path, first.File, first.Line, first.Column))
				continue
			}
			built[a.Image] = a.At
			p := fmt.Sprintf("build.artifacts[%d]", artifactCount(out.Build))
			where[p] = a.At
			where[p+".context"] = a.ContextAt
			if a.ContextAt.Path == "" {
				where[p+".context"] = a.At
			}
			if out.Build == nil {
				out.Build = &outBuild{}
			}
			out.Build.Artifacts = append(out.Build.Artifacts, outArtifact{
				Image: a.Image, Context: relative(dir, s.Dir, a.Context), Dockerfile: a.Dockerfile, Target: a.Target,
				BuildArgs: a.BuildArgs, Platforms: a.Platforms, CacheFrom: a.CacheFrom,
			})
		}
		for _, k := range s.Kustomize {
			d := resolve(s.Dir, k.Value)
			if _, err := kustomize.File(d); err != nil {
				errs = append(errs, k.At.errorf("the kustomize directory %s has no kustomization file (%s, relative to %s); expected one of %s",
					d, k.Value, s.Dir, strings.Join(kustomize.FileNames(), ", ")))
				continue
			}
			if !slices.Contains(overlays, d) {
				overlays, overlayAt = append(overlays, d), append(overlayAt, k.At)
			}
		}
		deadline = max(deadline, s.StatusCheckDeadlineSeconds)
		for _, pf := range s.PortForward {
			kind := strings.ToLower(pf.ResourceType)
			switch kind {
			case "service", "deployment", "statefulset", "pod":
			default:
				e := pf.At
				e.Path += ".resourceType"
				errs = append(errs, e.errorf("%q is not forwarded by devloop; use service, deployment, statefulset or pod", pf.ResourceType))
				continue
			}
			where[fmt.Sprintf("portForward[%d]", len(out.PortForward))] = pf.At
			out.PortForward = append(out.PortForward, outPortForward{
				Resource: kind + "/" + pf.ResourceName, Port: pf.Port, LocalPort: pf.LocalPort,
				Address: pf.Address, Namespace: pf.Namespace,
			})
		}
	}

	if deadline > 0 {
		out.Deploy.StatusTimeout = fmt.Sprintf("%ds", deadline)
	}
	if ns, at, err := namespaceOf(cs); err != nil {
		errs = append(errs, err)
	} else if ns != "" {
		out.Deploy.Namespace = ns
		where["deploy.namespace"] = at
	}
	switch {
	case len(errs) > 0:
	case len(overlays) == 0:
		mpath := "manifests.kustomize.paths"
		errs = append(errs, at{File: name.File, Line: 1, Column: 1, Path: mpath}.errorf("%s",
			"required; devloop deploys a kustomize overlay: name its directory in manifests.kustomize.paths"))
	case len(overlays) == 1:
		out.Deploy.Kustomize.Path = relative(dir, overlays[0], ".")
		where["deploy.kustomize"], where["deploy.kustomize.path"] = overlayAt[0], overlayAt[0]
	default:
		path, err := overlay(overlays)
		if err != nil {
			return nil, nil, err
		}
		out.Deploy.Kustomize.Path = path
		where["deploy.kustomize"], where["deploy.kustomize.path"] = overlayAt[0], overlayAt[0]
	}
	if len(errs) > 0 {
		return nil, nil, errs
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("writing the translated configuration: %w", err)
	}
	return b, where, nil
}

// namespaceOf is the defaultNamespace of the configurations with
// manifests: devloop deploys every manifest into one namespace, so they
// must agree (all the same, or none set).
func namespaceOf(cs []*Skaffold) (string, at, *config.Error) {
	var first *Skaffold
	for _, s := range cs {
		if len(s.Kustomize) == 0 && s.Namespace == "" {
			continue
		}
		if first == nil {
			first = s
			continue
		}
		if s.Namespace != first.Namespace {
			set, other := s, first
			if s.Namespace == "" {
				set, other = first, s
			}
			has := "no defaultNamespace"
			if other.Namespace != "" {
				has = fmt.Sprintf("defaultNamespace %q", other.Namespace)
			}
			return "", at{}, set.NamespaceAt.errorf("%q, but the configuration %q of %s has %s; devloop deploys the manifests of every configuration into one namespace: set the same defaultNamespace in each configuration, or none",
				set.Namespace, other.Name, other.File, has)
		}
	}
	if first == nil {
		return "", at{}, nil
	}
	return first.Namespace, first.NamespaceAt, nil
}

func artifactCount(b *outBuild) int {
	if b == nil {
		return 0
	}
	return len(b.Artifacts)
}

// resolve is p (slash-separated, relative to base unless absolute) as an
// absolute path.
func resolve(base, p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// relative is p of a configuration in base made relative to dir, or
// absolute where it cannot be.
func relative(dir, base, p string) string {
	abs := resolve(base, p)
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(rel)
}

// dnsLabel makes a configuration name from a directory name.
func dnsLabel(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-")
	}
	if out == "" {
		return "skaffold"
	}
	return out
}
