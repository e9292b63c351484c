package build

import (
	"fmt"
	"strings"
)

// BuildError is a failed `docker buildx build`: the image, the exit error and
// the last lines of buildx's output, which hold BuildKit's reason.
type BuildError struct {
	Image string
	// Builder is the builder it ran on, when inspected (its name, driver
	// and endpoint are named for builders outside the engine).
	Builder BuilderInfo
	Err     error
	Tail    []string
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "building %s", e.Image)
	if e.Builder.OutsideEngine() {
		b.WriteString(" on " + e.Builder.Describe())
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if hint := cacheHint(e.Tail); hint != "" {
		b.WriteString("; " + hint)
	}
	if len(e.Tail) > 0 {
		b.WriteString("\nlast lines of buildx output:\n")
		for _, l := range e.Tail {
			b.WriteString("  | ")
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func (e *BuildError) Unwrap() error { return e.Err }

// CapabilityError says the builder cannot do what was asked, and what to do.
type CapabilityError struct {
	Builder string
	Driver  string
	Reason  string
}

func (e *CapabilityError) Error() string {
	return fmt.Sprintf("buildx builder %q (driver %s) %s", e.Builder, e.Driver, e.Reason)
}

// cacheHint explains buildx's refusal to export a cache from the engine's
// own builder (the docker driver on an engine without the containerd image
// store), or "" for other failures.
func cacheHint(tail []string) string {
	for _, l := range tail {
		if strings.Contains(l, "Cache export is not supported for the docker driver") {
			return "cacheTo needs a builder that can export caches: set build.builder (or --builder) to a " +
				"docker-container, kubernetes or remote builder, or use an engine with the containerd image store"
		}
	}
	return ""
}
