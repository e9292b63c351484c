package build

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Output says where a build's image goes.
type Output int

const (
	// OutputLoad loads the image into the engine (`--load`); one platform only.
	OutputLoad Output = iota
	// OutputPush pushes the image (or manifest list) to a registry (`--push`).
	OutputPush
)

func (o Output) String() string {
	if o == OutputPush {
		return "push"
	}
	return "load"
}

// Request is one image to build.
type Request struct {
	// Image is the repository name as the manifests write it, e.g. notes-web.
	Image string
	// Tag is the content tag.
	Tag string
	// Context is the build context directory.
	Context string
	// Dockerfile is the Dockerfile path; relative paths are relative to Context.
	Dockerfile string
	// Target is the multi-stage target; empty builds the last stage.
	Target string
	// BuildArgs are passed as --build-arg.
	BuildArgs map[string]string
	// Platforms to build; empty uses the builder's default.
	Platforms []string
	// Builder is the buildx builder; empty uses the current one.
	Builder string
	// BuilderInfo is what Inspect said of it (may be zero), for messages.
	BuilderInfo BuilderInfo
	// CacheFrom and CacheTo are passed as --cache-from/--cache-to.
	CacheFrom, CacheTo []string
	// Output is load or push.
	Output Output
	// PushRepo is the repository to push to with OutputPush, e.g.
	// 127.0.0.1:5000/notes-web.
	PushRepo string
	// Progress receives buildx's progress output; nil discards it.
	Progress io.Writer
	// TTY asks for buildx's interactive progress; Progress must then be the
	// terminal (*os.File).
	TTY bool
}

// Result is what a build produced.
type Result struct {
	// Ref is the reference to deploy: IMAGE:TAG when loaded, REPO@sha256:...
	// when pushed.
	Ref string
	// TagRef is the tagged reference that was written (IMAGE:TAG or REPO:TAG).
	TagRef string
	// Digest is the image (or manifest list) digest when buildx reported one.
	Digest string
	// Platforms are the platforms built (empty: the builder's default).
	Platforms []string
	// Duration is the wall time of the build.
	Duration time.Duration
}

// TagRef is the tagged reference a request writes.
func (r Request) TagRef() string {
	if r.Output == OutputPush {
		return r.PushRepo + ":" + r.Tag
	}
	return r.Image + ":" + r.Tag
}

func (r Request) validate() error {
	switch {
	case r.Image == "" || r.Tag == "":
		return fmt.Errorf("build request needs an image name and a tag")
	case r.Context == "":
		return fmt.Errorf("build of %s needs a context directory", r.Image)
	case r.Output == OutputPush && r.PushRepo == "":
		return fmt.Errorf("build of %s: pushing needs a registry repository (set registry in devloop.yaml)", r.Image)
	case r.Output == OutputLoad && len(r.Platforms) > 1:
		return fmt.Errorf("build of %s: %d platforms (%s) cannot be loaded into the engine; "+
			"several platforms must be pushed to a registry (set registry in devloop.yaml)",
			r.Image, len(r.Platforms), strings.Join(r.Platforms, ","))
	}
	return nil
}

// args returns the buildx arguments for r, writing metadata to metadataFile.
func (r Request) args(metadataFile string) []string {
	args := []string{"buildx", "build"}
	if r.Builder != "" {
		args = append(args, "--builder", r.Builder)
	}
	progress := "plain"
	if r.TTY {
		progress = "auto"
	}
	args = append(args, "--progress="+progress, "--tag", r.TagRef(), "--metadata-file", metadataFile)
	if r.Dockerfile != "" {
		df := r.Dockerfile
		if !filepath.IsAbs(df) {
			df = filepath.Join(r.Context, df)
		}
		args = append(args, "--file", df)
	}
	if r.Target != "" {
		args = append(args, "--target", r.Target)
	}
	keys := make([]string, 0, len(r.BuildArgs))
	for k := range r.BuildArgs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		args = append(args, "--build-arg", k+"="+r.BuildArgs[k])
	}
	if len(r.Platforms) > 0 {
		args = append(args, "--platform", strings.Join(r.Platforms, ","))
	}
	for _, c := range r.CacheFrom {
		args = append(args, "--cache-from", c)
	}
	for _, c := range r.CacheTo {
		args = append(args, "--cache-to", c)
	}
	if r.Output == OutputPush {
		args = append(args, "--push")
	} else {
		// An engine with the containerd image store would keep buildx's
		// default provenance attestation beside the image, and every
		// delivery would ship it to nodes that only run images.
		args = append(args, "--load", "--provenance=false")
	}
	return append(args, r.Context)
}
