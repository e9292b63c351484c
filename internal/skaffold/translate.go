package skaffold

import (
	"fmt"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
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

// Translate writes s as a devloop.yaml (dir is skaffold.yaml's directory)
// and returns, for each devloop field path, the skaffold.yaml node it came
// from.
func Translate(name, dir string, s *Skaffold) ([]byte, map[string]at, error) {
	r := &reader{file: name}
	where := map[string]at{}
	out := outConfig{APIVersion: config.APIVersion, Kind: config.Kind}

	out.Metadata.Name = s.Name
	if s.Name == "" {
		out.Metadata.Name = dnsLabel(filepath.Base(dir))
		where["metadata.name"] = at{Line: 1, Column: 1, Path: "metadata.name"}
	} else {
		where["metadata.name"] = s.NameAt
	}

	if len(s.Artifacts) > 0 {
		out.Build = &outBuild{}
	}
	for i, a := range s.Artifacts {
		p := fmt.Sprintf("build.artifacts[%d]", i)
		where[p] = a.At
		where[p+".context"] = a.ContextAt
		if a.ContextAt.Path == "" {
			where[p+".context"] = a.At
		}
		out.Build.Artifacts = append(out.Build.Artifacts, outArtifact{
			Image: a.Image, Context: a.Context, Dockerfile: a.Dockerfile, Target: a.Target,
			BuildArgs: a.BuildArgs, Platforms: a.Platforms, CacheFrom: a.CacheFrom,
		})
	}

	mpath := "manifests.kustomize.paths"
	if s.KustomizeAt.Path != "" {
		mpath = s.KustomizeAt.Path
	}
	switch len(s.Kustomize) {
	case 0:
		r.errs = append(r.errs, &config.Error{File: name, Line: 1, Column: 1, Path: mpath,
			Msg: mpath + ": required; devloop deploys a kustomize overlay: name its directory in manifests.kustomize.paths"})
	case 1:
		out.Deploy.Kustomize.Path = s.Kustomize[0]
		where["deploy.kustomize"] = s.KustomizeAt
		where["deploy.kustomize.path"] = s.KustomizeAt
	default:
		r.errorf(&yaml.Node{Line: s.KustomizeAt.Line, Column: s.KustomizeAt.Column}, mpath,
			"devloop deploys one kustomize overlay; make one kustomization.yaml whose resources are these %d directories", len(s.Kustomize))
	}
	if s.StatusCheckDeadlineSeconds > 0 {
		out.Deploy.StatusTimeout = fmt.Sprintf("%ds", s.StatusCheckDeadlineSeconds)
	}

	for i, pf := range s.PortForward {
		p := fmt.Sprintf("portForward[%d]", i)
		where[p] = pf.At
		kind := strings.ToLower(pf.ResourceType)
		switch kind {
		case "service", "deployment", "statefulset", "pod":
		default:
			r.errorf(&yaml.Node{Line: pf.At.Line, Column: pf.At.Column}, pf.At.Path+".resourceType",
				"%q is not forwarded by devloop; use service, deployment, statefulset or pod", pf.ResourceType)
			continue
		}
		out.PortForward = append(out.PortForward, outPortForward{
			Resource: kind + "/" + pf.ResourceName, Port: pf.Port, LocalPort: pf.LocalPort,
			Address: pf.Address, Namespace: pf.Namespace,
		})
	}
	if len(r.errs) > 0 {
		return nil, nil, r.errs
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return nil, nil, fmt.Errorf("writing the translated configuration: %w", err)
	}
	return b, where, nil
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
