package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// knownOS are the GOOS values a hook's os filter may name.
var knownOS = []string{"linux", "darwin", "windows", "freebsd"}

// hookLists returns every hook list of the configuration with its path.
func hookLists(c *Config) map[string][]Hook {
	out := map[string][]Hook{}
	for i, a := range c.Build.Artifacts {
		p := fmt.Sprintf("build.artifacts[%d].hooks", i)
		out[p+".before"], out[p+".after"] = a.Hooks.Before, a.Hooks.After
		for j, r := range a.Sync {
			out[fmt.Sprintf("build.artifacts[%d].sync[%d].hooks.after", i, j)] = r.Hooks.After
		}
	}
	out["deploy.hooks.before"], out["deploy.hooks.after"] = c.Deploy.Hooks.Before, c.Deploy.Hooks.After
	return out
}

// resolveHooks fills each host hook's DirPath (default: the config's
// directory) and each hook's default timeout.
func resolveHooks(c *Config) {
	fix := func(hs []Hook) {
		for i := range hs {
			h := &hs[i]
			h.DirPath = c.Dir
			if h.Dir != "" {
				h.DirPath = h.Dir
				if !filepath.IsAbs(h.Dir) {
					h.DirPath = filepath.Join(c.Dir, filepath.FromSlash(h.Dir))
				}
			}
			if h.Timeout == 0 {
				h.Timeout = DefaultHookTimeout
			}
		}
	}
	for i := range c.Build.Artifacts {
		a := &c.Build.Artifacts[i]
		fix(a.Hooks.Before)
		fix(a.Hooks.After)
		for j := range a.Sync {
			fix(a.Sync[j].Hooks.After)
		}
	}
	fix(c.Deploy.Hooks.Before)
	fix(c.Deploy.Hooks.After)
}

// hooks checks every hook: a command, a positive timeout, known operating
// systems, an existing directory, a valid selector; build and sync hooks run
// where their step does (build hooks on this machine, sync hooks in the
// synced container).
func (v *validator) hooks() {
	for p, hs := range hookLists(v.c) {
		for i, h := range hs {
			hp := fmt.Sprintf("%s[%d]", p, i)
			if len(h.Command) == 0 || h.Command[0] == "" {
				v.errorf(hp+".command", nil, "%s.command: expected a command and its arguments, e.g. [\"sh\", \"-c\", \"make generate\"]", hp)
			}
			if _, set := v.c.origins[hp+".timeout"]; set && h.Timeout <= 0 {
				v.errorf(hp+".timeout", nil, "%s.timeout: expected a positive duration such as 2m, got %s", hp, h.Timeout)
			}
			for j, o := range h.OS {
				if !slices.Contains(knownOS, o) {
					v.errorf(fmt.Sprintf("%s.os[%d]", hp, j), nil, "%s.os[%d]: %q is not an operating system; expected one of %v", hp, j, o, knownOS)
				}
			}
			inSync := strings.Contains(p, ".sync[")
			switch {
			case h.Container.Container != "" && h.Container.Selector == "":
				v.errorf(hp+".container.selector", nil, "%s.container: a container hook needs selector, e.g. {selector: \"app=api\", container: api}", hp)
			case h.InContainer() && !isDeployHook(p):
				v.errorf(hp+".container", nil, "%s.container: only deploy hooks run in selected containers (build hooks run on this machine, sync hooks in the synced container)", hp)
			case h.InContainer():
				if _, err := labels.Parse(h.Container.Selector); err != nil {
					v.errorf(hp+".container.selector", err, "%s.container.selector: %v", hp, err)
				}
			case !inSync && h.Dir != "":
				if st, err := os.Stat(h.DirPath); err != nil || !st.IsDir() {
					v.errorf(hp+".dir", err, "%s.dir: %s is not a directory (dir %q, relative to %s)", hp, h.DirPath, h.Dir, v.c.Dir)
				}
			}
		}
	}
}

func isDeployHook(p string) bool { return strings.HasPrefix(p, "deploy.") }
