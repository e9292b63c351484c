package build

import (
	"fmt"
	"strings"
)

// BuildError is a failed `docker buildx build`: the image, the exit error and
// the last lines of buildx's output, which hold BuildKit's reason.
type BuildError struct {
	Image string
	Err   error
	Tail  []string
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "building %s: %v", e.Image, e.Err)
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
