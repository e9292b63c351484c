// Package buildcontext knows which files of a Docker build context the build
// sees, and hashes them into the image's tag.
//
// Promises:
//   - Exclusion follows BuildKit: the ignore file is `<Dockerfile>.dockerignore`
//     when it exists next to the Dockerfile, else `<context>/.dockerignore`,
//     read with github.com/moby/patternmatcher/ignorefile and matched with
//     patternmatcher's MatchesOrParentMatches (an excluded directory excludes
//     everything under it unless a later `!` exception re-includes it).
//   - The content hash (see Hasher) depends only on what defines the image:
//     relative paths, the executable bit, symlink targets, file contents of the
//     context after exclusion, the Dockerfile's content, build args, target and
//     platforms. No mtimes, absolute paths, owners or walk order enter it: the
//     same inputs give the same tag on any machine.
//   - Rehashing is cheap: Hasher caches per-file digests, so a full Hash of an
//     unchanged context stats every file but reads none; Update patches a
//     previous Result from the paths a watcher reported, touching only those.
//   - Directory symlinks are never followed (a link is hashed as its target
//     string), so symlink loops cannot hang a walk.
//   - Every method of Context and Hasher is safe for concurrent use.
package buildcontext

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Context is a build context directory with its exclusion rules.
type Context struct {
	// Dir is the absolute, cleaned context directory.
	Dir string
	// Dockerfile is the absolute path of the Dockerfile (it may lie outside Dir).
	Dockerfile string
	// IgnoreFile is the absolute path of the ignore file in use, or "" when
	// there is none.
	IgnoreFile string
	// Patterns are the ignore patterns as read from IgnoreFile.
	Patterns []string

	// mu guards pm: patternmatcher compiles patterns lazily and is not safe
	// for concurrent use.
	mu sync.Mutex
	pm *patternmatcher.PatternMatcher
	// exceptions are the `!` patterns split into path segments, used to
	// decide whether an excluded directory may hold re-included files.
	exceptions [][]string
}

// Load reads the exclusion rules of the build context dir for the given
// Dockerfile. A relative dockerfile is taken relative to dir; "" means
// dir/Dockerfile. The Dockerfile need not exist yet (Hash reports it).
func Load(dir, dockerfile string) (*Context, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolving context %s: %w", dir, err)
	}
	fi, err := os.Stat(absDir)
	if err != nil {
		return nil, fmt.Errorf("reading context %s: %w", absDir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("reading context %s: not a directory", absDir)
	}
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	if !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(absDir, dockerfile)
	}
	c := &Context{Dir: absDir, Dockerfile: filepath.Clean(dockerfile)}

	for _, candidate := range []string{c.Dockerfile + ".dockerignore", filepath.Join(absDir, ".dockerignore")} {
		data, err := os.Open(candidate)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading ignore file %s: %w", candidate, err)
		}
		patterns, err := ignorefile.ReadAll(data)
		data.Close()
		if err != nil {
			return nil, fmt.Errorf("reading ignore file %s: %w", candidate, err)
		}
		c.IgnoreFile = candidate
		c.Patterns = patterns
		break
	}
	if err := c.compile(); err != nil {
		return nil, fmt.Errorf("parsing ignore file %s: %w", c.IgnoreFile, err)
	}
	return c, nil
}

// NewFromPatterns builds a Context from patterns without reading any ignore
// file; useful for tests and callers that already hold the patterns.
func NewFromPatterns(dir, dockerfile string, patterns []string) (*Context, error) {
	c := &Context{Dir: filepath.Clean(dir), Dockerfile: filepath.Clean(dockerfile), Patterns: patterns}
	if err := c.compile(); err != nil {
		return nil, fmt.Errorf("parsing ignore patterns: %w", err)
	}
	return c, nil
}

func (c *Context) compile() error {
	if len(c.Patterns) == 0 {
		return nil
	}
	pm, err := patternmatcher.New(c.Patterns)
	if err != nil {
		return err
	}
	// Probe every pattern once so that a pattern that cannot compile is
	// reported now rather than silently matching nothing later.
	for _, p := range pm.Patterns() {
		single, err := patternmatcher.New([]string{strings.TrimPrefix(p.String(), "!")})
		if err != nil {
			return err
		}
		if _, err := single.MatchesOrParentMatches("a"); err != nil {
			return fmt.Errorf("pattern %q: %w", p.String(), err)
		}
		if p.Exclusion() {
			c.exceptions = append(c.exceptions, strings.Split(filepath.ToSlash(p.String()), "/"))
		}
	}
	c.pm = pm
	return nil
}

// Excluded reports whether rel (slash-separated, relative to Dir) is left out
// of the build context by the ignore file.
func (c *Context) Excluded(rel string) bool {
	if c.pm == nil {
		return false
	}
	rel = cleanRel(rel)
	if rel == "." || rel == "" {
		return false
	}
	c.mu.Lock()
	m, err := c.pm.MatchesOrParentMatches(rel)
	c.mu.Unlock()
	// Patterns were validated at load; an error here means a path the
	// matcher cannot handle, and keeping the file is the safe answer.
	return err == nil && m
}

// SkipDir reports whether a walk may skip the directory rel entirely: it is
// excluded and no exception (`!`) pattern could re-include anything below it.
func (c *Context) SkipDir(rel string) bool {
	if !c.Excluded(rel) {
		return false
	}
	segs := strings.Split(cleanRel(rel), "/")
	for _, ex := range c.exceptions {
		if mayMatchUnder(ex, segs) {
			return false
		}
	}
	return true
}

// Ignore has the shape of a watcher's ignore function: it reports whether a
// change to rel can matter to the build. The Dockerfile and the ignore file
// never are ignored, even when the patterns exclude them, since changes to them
// change the build.
func (c *Context) Ignore(rel string, isDir bool) bool {
	if isDir {
		return c.SkipDir(rel)
	}
	if c.IsBuildFile(filepath.Join(c.Dir, filepath.FromSlash(rel))) {
		return false
	}
	return c.Excluded(rel)
}

// IsBuildFile reports whether abs is the Dockerfile or one of the two
// possible ignore files of this context.
func (c *Context) IsBuildFile(abs string) bool {
	return abs == c.Dockerfile || abs == c.Dockerfile+".dockerignore" || abs == filepath.Join(c.Dir, ".dockerignore")
}

// mayMatchUnder reports whether the pattern segments pat could match a path
// strictly below the directory segments dir.
func mayMatchUnder(pat, dir []string) bool {
	for i, d := range dir {
		if i >= len(pat) {
			// The pattern names an ancestor of dir (or dir itself): it
			// re-includes everything under it.
			return true
		}
		if strings.Contains(pat[i], "**") {
			return true
		}
		ok, err := path.Match(pat[i], d)
		if err != nil || !ok {
			return err != nil // unsure: do not skip
		}
	}
	return true
}

func cleanRel(rel string) string {
	rel = filepath.ToSlash(rel)
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	if rel == "" {
		return "."
	}
	return rel
}
