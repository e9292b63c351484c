// Package plan decides what a batch of file changes means for the dev loop.
// It is pure: no I/O, no clock, no goroutines; Decide depends only on its
// arguments.
//
// Promises of Decide:
//   - A change to the config file wins: ReloadConfig is set and nothing else
//     is decided (the caller reloads, then redeploys everything).
//   - A Rescan change set (events were lost) rebuilds every artifact and
//     redeploys.
//   - Per artifact: changes under its context (or to its Dockerfile wherever
//     it lies) that its .dockerignore excludes are ignored; if nothing else
//     changed the artifact is a Noop with that reason. A change to the
//     Dockerfile or to an ignore file means Rebuild (ReloadIgnore tells the
//     caller to reload the exclusion rules). When every other change matches
//     a sync rule, the artifact is synced (files with their destination, and
//     deletions), else rebuilt with the changed paths as the reason.
//     "Rebuild" means "its inputs may have changed": the caller rehashes and
//     builds only when the tag moved.
//   - A path may belong to several artifacts (nested contexts) and to the
//     manifests at once; each is decided on its own.
//   - Redeploy is set when a manifest directory changed (or events were
//     lost). A rebuild redeploys only if its tag moved, which the caller
//     learns by rehashing; a sync alone redeploys nothing.
package plan

import (
	"path"
	"path/filepath"

	"github.com/devloop-dev/devloop/internal/fspath"
)

// Layout is what the dev loop watches, as plain data.
type Layout struct {
	// ConfigFile is the absolute path of devloop.yaml.
	ConfigFile string
	// Artifacts are the images built from sources.
	Artifacts []Artifact
	// ManifestDirs are the absolute directories of the kustomize tree (every
	// directory the overlay pulls in).
	ManifestDirs []string
}

// Artifact is one image built from a context.
type Artifact struct {
	// Image is the image name, used in reports.
	Image string
	// Context is the absolute context directory.
	Context string
	// Dockerfile is the absolute Dockerfile path; it may lie outside Context.
	Dockerfile string
	// Excluded reports whether a path (slash-separated, relative to Context)
	// is left out of the build by .dockerignore. Nil excludes nothing.
	Excluded func(rel string) bool
	// Sync are the live-sync rules; empty means every change rebuilds.
	Sync []SyncRule
}

// SyncRule maps files of the context into a running container.
type SyncRule struct {
	// Src is a glob relative to the context; a "**" segment matches any
	// number of directories (none included).
	Src string
	// Dest is the absolute directory in the container; a file at
	// context-relative path rel lands at path.Join(Dest, rel).
	Dest string
	// Target, when set, replaces Src and Dest: it returns where rel lands and
	// whether the rule applies.
	Target func(rel string) (dest string, ok bool)
}

// Change is one changed absolute path.
type Change struct {
	Path    string
	Removed bool
	// Dir is true when the path is (or was) a directory.
	Dir bool
}

// ChangeSet is the input of Decide.
type ChangeSet struct {
	Changes []Change
	// Rescan means events were lost: treat everything as changed.
	Rescan bool
}

// Action is what happens to an artifact.
type Action int

const (
	// Noop means nothing that matters to the artifact changed.
	Noop Action = iota
	// Sync means every relevant change can be copied into the running containers.
	Sync
	// Rebuild means rehash, and build and redeploy if the tag moved.
	Rebuild
)

func (a Action) String() string {
	switch a {
	case Sync:
		return "sync"
	case Rebuild:
		return "rebuild"
	default:
		return "noop"
	}
}

// SyncFile is one file to copy into the container.
type SyncFile struct {
	// Src is the absolute local path.
	Src string
	// Rel is the path relative to the context.
	Rel string
	// Dest is the absolute path in the container.
	Dest string
}

// ArtifactPlan is the decision for one artifact.
type ArtifactPlan struct {
	Image  string
	Action Action
	// Reason explains the action in a few words.
	Reason string
	// Changed are the relevant changed paths, relative to the context
	// (the Dockerfile as its path relative to the context, or its base name
	// when it lies outside).
	Changed []string
	// Ignored are changed paths excluded by .dockerignore.
	Ignored []string
	// ReloadIgnore is set when an ignore file changed.
	ReloadIgnore bool
	// Copy and Delete are set for Sync: files to copy, and container paths
	// to delete.
	Copy   []SyncFile
	Delete []string
}

// Plan is what a change set means.
type Plan struct {
	// ReloadConfig: the config file changed; nothing else was decided.
	ReloadConfig bool
	// Rescan: the change set had lost events.
	Rescan bool
	// Artifacts has one entry per Layout artifact, in the same order.
	Artifacts []ArtifactPlan
	// Redeploy: re-render and apply even if no tag moves (a manifest
	// changed, or events were lost).
	Redeploy bool
	// ManifestChanges are the changed paths under the manifest directories.
	ManifestChanges []string
	// Unrelated counts changed paths that belong to nothing watched.
	Unrelated int
}

// Decide says what to do about cs.
func Decide(l Layout, cs ChangeSet) Plan {
	var p Plan
	cfg := filepath.Clean(l.ConfigFile)
	for _, c := range cs.Changes {
		if l.ConfigFile != "" && (c.Path == cfg || (c.Removed && fspath.Within(cfg, c.Path))) {
			return Plan{ReloadConfig: true, Rescan: cs.Rescan}
		}
	}
	p.Rescan = cs.Rescan
	p.Artifacts = make([]ArtifactPlan, len(l.Artifacts))
	for i := range l.Artifacts {
		p.Artifacts[i] = decideArtifact(&l.Artifacts[i], cs)
	}
	for _, c := range cs.Changes {
		related := false
		for _, d := range l.ManifestDirs {
			if fspath.Within(c.Path, d) || (c.Removed && fspath.Within(d, c.Path)) {
				p.ManifestChanges = append(p.ManifestChanges, c.Path)
				related = true
				break
			}
		}
		if !related && !belongsToArtifact(l.Artifacts, c) {
			p.Unrelated++
		}
	}
	if len(p.ManifestChanges) > 0 || cs.Rescan {
		p.Redeploy = true
	}
	return p
}

func belongsToArtifact(arts []Artifact, c Change) bool {
	for i := range arts {
		a := &arts[i]
		if c.Path == a.Dockerfile || c.Path == a.Dockerfile+".dockerignore" || fspath.Within(c.Path, a.Context) || (c.Removed && fspath.Within(a.Context, c.Path)) {
			return true
		}
	}
	return false
}

// target returns where rel lands in the container under rule r.
func (r *SyncRule) target(rel string) (string, bool) {
	if r.Target != nil {
		return r.Target(rel)
	}
	if !MatchGlob(r.Src, rel) {
		return "", false
	}
	return path.Join(r.Dest, rel), true
}
