package plan

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/devloop-dev/devloop/internal/fspath"
)

// maxNamed is how many paths a reason names before counting the rest.
const maxNamed = 3

func decideArtifact(a *Artifact, cs ChangeSet) ArtifactPlan {
	ap := ArtifactPlan{Image: a.Image}
	if cs.Rescan {
		ap.Action, ap.Reason, ap.ReloadIgnore = Rebuild, "file events were lost: rescan", true
		return ap
	}
	ctxDir := filepath.Clean(a.Context)
	ignoreFiles := [2]string{filepath.Join(ctxDir, ".dockerignore"), a.Dockerfile + ".dockerignore"}
	var (
		forced   []string // build definition changes: Dockerfile, ignore files, context gone
		nonSync  []string // relevant changes no sync rule covers
		newDirs  int      // created directories (tar creates them when syncing files)
		relevant int
	)
	for _, c := range cs.Changes {
		switch {
		case c.Path == a.Dockerfile:
			forced = append(forced, relTo(ctxDir, c.Path))
			continue
		case c.Path == ignoreFiles[0] || c.Path == ignoreFiles[1]:
			forced = append(forced, relTo(ctxDir, c.Path))
			ap.ReloadIgnore = true
			continue
		case c.Removed && fspath.Within(ctxDir, c.Path):
			forced = append(forced, relTo(ctxDir, c.Path))
			continue
		case c.Path == ctxDir || !fspath.Within(c.Path, ctxDir):
			continue
		}
		rel := filepath.ToSlash(c.Path[len(ctxDir)+1:])
		if a.Excluded != nil && a.Excluded(rel) {
			ap.Ignored = append(ap.Ignored, rel)
			continue
		}
		relevant++
		ap.Changed = append(ap.Changed, rel)
		if c.Dir && !c.Removed {
			newDirs++
			continue
		}
		dest, ok := syncTarget(a.Sync, rel)
		switch {
		case !ok:
			nonSync = append(nonSync, rel)
		case c.Removed:
			ap.Delete = append(ap.Delete, dest)
		default:
			ap.Copy = append(ap.Copy, SyncFile{Src: c.Path, Rel: rel, Dest: dest})
		}
	}
	ap.Changed = append(forced, ap.Changed...)
	switch {
	case len(forced) > 0:
		ap.Action, ap.Reason = Rebuild, "build definition changed: "+describe(forced)
	case relevant == 0 && len(ap.Ignored) > 0:
		ap.Action, ap.Reason = Noop, "only ignored files changed: "+describe(ap.Ignored)
	case relevant == 0:
		ap.Action, ap.Reason = Noop, "no change"
	case len(nonSync) > 0:
		ap.Action, ap.Reason = Rebuild, "changed: "+describe(nonSync)
	case newDirs == relevant:
		ap.Action, ap.Reason = Rebuild, "new directories: "+describe(ap.Changed)
	default:
		ap.Action = Sync
		ap.Reason = fmt.Sprintf("sync %d %s", len(ap.Copy)+len(ap.Delete), plural(len(ap.Copy)+len(ap.Delete), "file"))
	}
	if ap.Action != Sync {
		ap.Copy, ap.Delete = nil, nil
	}
	return ap
}

func syncTarget(rules []SyncRule, rel string) (string, bool) {
	for i := range rules {
		if d, ok := rules[i].target(rel); ok {
			return d, true
		}
	}
	return "", false
}

// relTo names p relative to dir ("../x/Dockerfile" when it lies outside).
func relTo(dir, p string) string {
	if r, err := filepath.Rel(dir, p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// describe names up to maxNamed paths and counts the rest.
func describe(paths []string) string {
	if len(paths) <= maxNamed {
		return strings.Join(paths, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(paths[:maxNamed], ", "), len(paths)-maxNamed)
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
