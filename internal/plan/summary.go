package plan

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Summary is the one-line report of a plan: what changed, what will be done,
// e.g. "notes-web: changed: app/main.go → rebuild · manifests: 1 file → redeploy".
func Summary(p Plan) string {
	if p.ReloadConfig {
		return "config changed → reload config and redeploy"
	}
	var parts []string
	if p.Rescan {
		parts = append(parts, "file events lost → rescan everything")
	}
	for _, a := range p.Artifacts {
		switch a.Action {
		case Rebuild:
			parts = append(parts, fmt.Sprintf("%s: %s → rebuild", a.Image, a.Reason))
		case Sync:
			parts = append(parts, fmt.Sprintf("%s: %s → sync", a.Image, describe(syncNames(a))))
		}
	}
	if len(p.ManifestChanges) > 0 {
		names := make([]string, len(p.ManifestChanges))
		for i, m := range p.ManifestChanges {
			names[i] = filepath.Base(m)
		}
		parts = append(parts, "manifests: "+describe(names)+" → redeploy")
	}
	if len(parts) == 0 {
		var why []string
		for _, a := range p.Artifacts {
			if len(a.Ignored) > 0 {
				why = append(why, a.Image+": "+a.Reason)
			}
		}
		if len(why) == 0 {
			return "nothing to do"
		}
		return "nothing to do (" + strings.Join(why, "; ") + ")"
	}
	return strings.Join(parts, " · ")
}

func syncNames(a ArtifactPlan) []string {
	var out []string
	for _, c := range a.Copy {
		out = append(out, c.Rel)
	}
	for _, d := range a.Delete {
		out = append(out, "-"+d)
	}
	return out
}
