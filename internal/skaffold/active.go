package skaffold

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/devloop-dev/devloop/internal/config"
)

// activeProfile is a profile applied to a configuration, and why.
type activeProfile struct {
	p      profile
	reason string
}

// profilesOf reads d's profiles, once.
func (g *graph) profilesOf(d *document) []profile {
	if ps, ok := g.profs[d]; ok {
		return ps
	}
	var ps []profile
	if n := value(d.root, "profiles"); n != nil {
		r := &reader{file: d.file}
		ps = r.profiles(n)
		g.errs = append(g.errs, r.errs...)
		if len(r.errs) > 0 {
			ps = nil
		}
	}
	g.profs[d] = ps
	return ps
}

// activate returns the profiles of d to apply, as Skaffold selects them:
// those whose activation holds, in file order, then those named with -p,
// in that order, then those the requiring configuration activates;
// -p -NAME deactivates NAME.
func (g *graph) activate(d *document, inherited []activeProfile) []activeProfile {
	ps := g.profilesOf(d)
	lookup := g.opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var out []activeProfile
	add := func(p profile, why string) {
		if !slices.ContainsFunc(out, func(a activeProfile) bool { return a.p.name == p.name }) &&
			!slices.Contains(g.opts.Profiles, "-"+p.name) {
			out = append(out, activeProfile{p: p, reason: why})
		}
	}
	for _, p := range ps {
		if ok, why := p.activated(lookup, g.opts.KubeContext, g.opts.Command); ok {
			add(p, why)
		}
	}
	for _, name := range g.opts.Profiles {
		if i := slices.IndexFunc(ps, func(p profile) bool { return p.name == name }); i >= 0 {
			add(ps[i], "selected with --profile")
		}
	}
	for _, a := range inherited {
		add(a.p, a.reason)
	}
	return out
}

// passed returns the profiles of t that d's requires entry q activates.
func (g *graph) passed(d, t *document, q require, active []activeProfile) ([]activeProfile, config.ErrorList) {
	var out []activeProfile
	var errs config.ErrorList
	for _, rp := range q.activeProfiles {
		if len(rp.activatedBy) > 0 && !slices.ContainsFunc(active, func(a activeProfile) bool { return slices.Contains(rp.activatedBy, a.p.name) }) {
			continue
		}
		ps := g.profilesOf(t)
		i := slices.IndexFunc(ps, func(p profile) bool { return p.name == rp.name })
		if i < 0 {
			errs = append(errs, rp.at.errorf("%s declares no profile %q", t.label(), rp.name))
			continue
		}
		why := "activated by " + d.label()
		if len(rp.activatedBy) > 0 {
			why += " (activatedBy " + strings.Join(rp.activatedBy, ", ") + ")"
		}
		out = append(out, activeProfile{p: ps[i], reason: why})
	}
	return out, errs
}

// checkProfiles refuses a -p name that no configuration declares.
func (g *graph) checkProfiles(file string) error {
	var declared []string
	for _, ps := range g.profs {
		for _, p := range ps {
			declared = append(declared, p.name)
		}
	}
	slices.Sort(declared)
	declared = slices.Compact(declared)
	for _, name := range g.opts.Profiles {
		if n := strings.TrimPrefix(name, "-"); !slices.Contains(declared, n) {
			known := "the configurations declare no profiles"
			if len(declared) > 0 {
				known = "declared profiles: " + strings.Join(declared, ", ")
			}
			return config.ErrorList{{File: file, Path: "profiles", Msg: fmt.Sprintf("unknown profile %q; %s", n, known)}}
		}
	}
	return nil
}

// applied is d's configuration with its active profiles applied, in
// order: each profile's sections overlaid, then its patches.
func (g *graph) applied(d *document) (*yaml.Node, config.ErrorList) {
	root := clone(d.root)
	var errs config.ErrorList
	for _, a := range g.active[d] {
		for _, s := range a.p.sections {
			if i := keyIndex(root, s.key); i >= 0 {
				root.Content[i+1] = overlaySection(s.key, root.Content[i+1], s.n)
			} else {
				root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s.key, Line: s.n.Line, Column: s.n.Column}, clone(s.n))
			}
		}
		for _, q := range a.p.patches {
			if err := q.apply(root); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return root, errs
}

func sameProfiles(a, b []activeProfile) bool {
	return profileNames(a) == profileNames(b)
}

func profileNames(ps []activeProfile) string {
	names := make([]string, len(ps))
	for i, a := range ps {
		names[i] = a.p.name
	}
	return strings.Join(names, ", ")
}
