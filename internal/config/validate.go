package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"strings"

	"github.com/devloop-dev/devloop/internal/debug"
	"github.com/devloop-dev/devloop/internal/kustomize"
)

// validator collects semantic errors located at the node of the offending value.
type validator struct {
	c    *Config
	errs ErrorList
}

// at returns the origin of path, or of its nearest ancestor that has one.
func (v *validator) at(p string) Origin {
	for {
		if o, ok := v.c.origins[p]; ok && !o.Default {
			return o
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			if o, ok := v.c.origins[""]; ok {
				return o
			}
			return Origin{}
		}
		p = p[:i]
	}
}

func (v *validator) errorf(p string, cause error, format string, args ...any) {
	o := v.at(p)
	v.errs = append(v.errs, &Error{File: v.c.display, Line: o.Line, Column: o.Column, Path: p, Msg: fmt.Sprintf(format, args...), Err: cause})
}

// validate checks the effective configuration without any cluster or engine.
func validate(c *Config) ErrorList {
	v := &validator{c: c}
	if !isDNSLabel(c.Metadata.Name) {
		v.errorf("metadata.name", nil, "metadata.name: %q is not a DNS label; expected at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit", c.Metadata.Name)
	}
	v.platforms("build.platforms", c.Build.Platforms)
	images := map[string]string{}
	for i, a := range c.Build.Artifacts {
		v.artifact(fmt.Sprintf("build.artifacts[%d]", i), a, images)
	}
	v.deploy(c.Deploy)
	for i, pf := range c.PortForward {
		v.portForward(fmt.Sprintf("portForward[%d]", i), pf)
	}
	if c.Registry != "" && !isRegistry(c.Registry) {
		v.errorf("registry", nil, "registry: %q is not a registry; expected a host with an optional port and path, e.g. 127.0.0.1:5000 or registry.example.com/team", c.Registry)
	}
	for i, ctx := range c.AllowContexts {
		if strings.TrimSpace(ctx) == "" {
			v.errorf(fmt.Sprintf("allowContexts[%d]", i), nil, "allowContexts[%d]: expected a kube context name, got an empty string", i)
		}
	}
	v.hooks()
	if _, set := c.origins["dev.quietPeriod"]; set && c.Dev.QuietPeriod <= 0 {
		v.errorf("dev.quietPeriod", nil, "dev.quietPeriod: expected a positive duration such as 80ms, got %s", c.Dev.QuietPeriod)
	}
	return v.errs
}

func (v *validator) artifact(p string, a Artifact, images map[string]string) {
	if msg := checkImageName(a.Image); msg != "" {
		v.errorf(p+".image", nil, "%s.image: %q %s", p, a.Image, msg)
	} else if first, dup := images[a.Image]; dup {
		v.errorf(p+".image", nil, "%s.image: %q is already built by %s; each image must be built by one artifact", p, a.Image, first)
	} else {
		images[a.Image] = p
	}
	contextOK := false
	switch st, err := os.Stat(a.ContextDir); {
	case err != nil:
		v.errorf(p+".context", err, "%s.context: the build context %s does not exist (%s, relative to %s)", p, a.ContextDir, a.Context, v.c.Dir)
	case !st.IsDir():
		v.errorf(p+".context", nil, "%s.context: %s is not a directory; expected the build context directory", p, a.ContextDir)
	default:
		contextOK = true
	}
	if contextOK {
		dp := p + ".dockerfile"
		switch st, err := os.Stat(a.DockerfilePath); {
		case errors.Is(err, fs.ErrNotExist):
			v.errorf(dp, err, "%s: the Dockerfile %s does not exist (dockerfile %q, relative to the context %s)", dp, a.DockerfilePath, a.Dockerfile, a.ContextDir)
		case err != nil:
			v.errorf(dp, err, "%s: cannot read the Dockerfile: %v", dp, err)
		case st.IsDir():
			v.errorf(dp, nil, "%s: %s is a directory; expected a Dockerfile", dp, a.DockerfilePath)
		}
	}
	v.platforms(p+".platforms", a.Platforms)
	if a.Debug.Runtime != "" {
		if _, err := debug.ParseRuntime(a.Debug.Runtime); err != nil {
			v.errorf(p+".debug.runtime", nil, "%s.debug.runtime: %v", p, err)
		}
	}
	for i, r := range a.Sync {
		sp := fmt.Sprintf("%s.sync[%d]", p, i)
		if err := r.checkSrc(); err != nil {
			v.errorf(sp+".src", err, "%s.src: %v", sp, err)
		}
		v.syncRun(sp, r)
		switch {
		case !path.IsAbs(r.Dest) && len(r.Run.Command) > 0:
			v.errorf(sp+".dest", nil, "%s.dest: %q is not absolute; expected the path in the container of the run command's output, such as /app/server", sp, r.Dest)
		case !path.IsAbs(r.Dest):
			v.errorf(sp+".dest", nil, "%s.dest: %q is not absolute; expected a directory in the container such as /app", sp, r.Dest)
		}
	}
}

func isKustomization(dir string) bool {
	_, err := kustomize.File(dir)
	return err == nil
}

func (v *validator) deploy(d Deploy) {
	if _, set := v.c.origins["deploy.kustomize"]; !set && len(d.Helm.Releases) == 0 {
		v.errorf("deploy", nil, "deploy: expected deploy.kustomize (an overlay), deploy.helm.releases (charts) or both")
	}
	v.helm(d)
	switch st, err := os.Stat(d.Kustomize.Dir); {
	case d.Kustomize.Dir == "":
		// no overlay: Helm releases only
	case err != nil:
		v.errorf("deploy.kustomize.path", err, "deploy.kustomize.path: the kustomize directory %s does not exist (%s, relative to %s)", d.Kustomize.Dir, d.Kustomize.Path, v.c.Dir)
	case !st.IsDir():
		v.errorf("deploy.kustomize.path", nil, "deploy.kustomize.path: %s is not a directory; expected a directory with a kustomization.yaml", d.Kustomize.Dir)
	case !isKustomization(d.Kustomize.Dir):
		v.errorf("deploy.kustomize.path", nil, "deploy.kustomize.path: %s has no kustomization file; expected one of %s", d.Kustomize.Dir, strings.Join(kustomize.FileNames(), ", "))
	}
	if d.Namespace != "" && !isDNSLabel(d.Namespace) {
		v.errorf("deploy.namespace", nil, "deploy.namespace: %q is not a valid namespace (a DNS label)", d.Namespace)
	}
	for i, s := range d.ImagePullSecrets {
		if !isDNSSubdomain(s) {
			p := fmt.Sprintf("deploy.imagePullSecrets[%d]", i)
			v.errorf(p, nil, "%s: %q is not a valid Secret name (a DNS subdomain)", p, s)
		}
	}
	if _, set := v.c.origins["deploy.statusTimeout"]; set && d.StatusTimeout <= 0 {
		v.errorf("deploy.statusTimeout", nil, "deploy.statusTimeout: expected a positive duration such as 5m, got %s", d.StatusTimeout)
	}
}

func (v *validator) portForward(p string, pf PortForward) {
	_, name, err := ParseForwardResource(pf.Resource)
	switch {
	case err != nil:
		v.errorf(p+".resource", nil, "%s.resource: %v", p, err)
	case !isDNSSubdomain(name):
		v.errorf(p+".resource", nil, "%s.resource: %q is not a valid resource name", p, name)
	}
	if pf.Port < 1 || pf.Port > 65535 {
		v.errorf(p+".port", nil, "%s.port: %d is not a port; expected 1-65535", p, pf.Port)
	}
	if pf.LocalPort < 1 || pf.LocalPort > 65535 {
		v.errorf(p+".localPort", nil, "%s.localPort: %d is not a port; expected 1-65535", p, pf.LocalPort)
	}
	if pf.Address != "localhost" && net.ParseIP(pf.Address) == nil {
		v.errorf(p+".address", nil, "%s.address: %q is not an IP address; expected e.g. 127.0.0.1, ::1, 0.0.0.0 or localhost", p, pf.Address)
	}
	if pf.Namespace != "" && !isDNSLabel(pf.Namespace) {
		v.errorf(p+".namespace", nil, "%s.namespace: %q is not a valid namespace (a DNS label)", p, pf.Namespace)
	}
}

func (v *validator) platforms(p string, ps []string) {
	for i, pl := range ps {
		if !isPlatform(pl) {
			v.errorf(fmt.Sprintf("%s[%d]", p, i), nil, "%s[%d]: %q is not a platform; expected OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64", p, i, pl)
		}
	}
}
