package config

import (
	"fmt"
	"path/filepath"
)

// applyDefaults fills the fields left unset after profiles were merged, recording each
// as a default in the provenance.
func applyDefaults(c *Config) {
	def := func(path string) { c.origins[path] = Origin{Default: true} }
	for i := range c.Build.Artifacts {
		a := &c.Build.Artifacts[i]
		if a.Dockerfile == "" {
			a.Dockerfile = DefaultDockerfile
			def(fmt.Sprintf("build.artifacts[%d].dockerfile", i))
		}
	}
	if _, set := c.origins["deploy.statusTimeout"]; !set {
		c.Deploy.StatusTimeout = DefaultStatusTimeout
		def("deploy.statusTimeout")
	}
	for i := range c.PortForward {
		pf := &c.PortForward[i]
		if _, set := c.origins[fmt.Sprintf("portForward[%d].localPort", i)]; !set {
			pf.LocalPort = pf.Port
			def(fmt.Sprintf("portForward[%d].localPort", i))
		}
		if pf.Address == "" {
			pf.Address = DefaultAddress
			def(fmt.Sprintf("portForward[%d].address", i))
		}
	}
	if _, set := c.origins["dev.quietPeriod"]; !set {
		c.Dev.QuietPeriod = DefaultQuietPeriod
		def("dev.quietPeriod")
	}
}

// resolvePaths fills the absolute paths from the relative ones.
func resolvePaths(c *Config) {
	abs := func(base, p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(base, filepath.FromSlash(p))
	}
	for i := range c.Build.Artifacts {
		a := &c.Build.Artifacts[i]
		a.ContextDir = abs(c.Dir, a.Context)
		a.DockerfilePath = abs(a.ContextDir, a.Dockerfile)
	}
	if c.Deploy.Kustomize.Path != "" {
		c.Deploy.Kustomize.Dir = abs(c.Dir, c.Deploy.Kustomize.Path)
	}
	resolveHelm(c, abs)
	resolveHooks(c)
}
