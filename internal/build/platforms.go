// Package build runs `docker buildx build`, chooses the platforms to build
// for, checks what the chosen builder can do and whether an image already
// exists where it is needed.
package build

import (
	"fmt"
	"slices"
	"strings"
)

// Choice is the set of platforms to build for and why.
type Choice struct {
	// Platforms are normalised os/arch[/variant] strings, deduplicated and sorted.
	Platforms []string
	// Source says where they came from, for the user ("from --platform", ...).
	Source string
}

// ResolvePlatforms picks the platforms of an artifact: the first non-empty
// of the --platform flag, the artifact's platforms, build.platforms and the
// platforms of the cluster's Ready nodes. An empty Choice means "the
// builder's default".
func ResolvePlatforms(flag, artifact, global, nodes []string) Choice {
	for _, c := range []struct {
		list   []string
		source string
	}{
		{flag, "from --platform"},
		{artifact, "from the artifact's platforms"},
		{global, "from build.platforms"},
		{nodes, "from the cluster's nodes"},
	} {
		ps := NormalizePlatforms(c.list)
		if len(ps) == 0 {
			continue
		}
		src := c.source
		if c.source == "from the cluster's nodes" {
			src = fmt.Sprintf("%s (%s)", src, strings.Join(ps, ", "))
		}
		return Choice{Platforms: ps, Source: src}
	}
	return Choice{Source: "the builder's default (no platform configured and no Ready node reported one)"}
}

// NormalizePlatforms normalises, deduplicates and sorts platforms. Entries
// may hold comma-separated lists (as --platform does).
func NormalizePlatforms(in []string) []string {
	var out []string
	for _, entry := range in {
		for _, p := range strings.Split(entry, ",") {
			if n := NormalizePlatform(p); n != "" && !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out
}

// NormalizePlatform turns a platform as users and nodes write it into the
// os/arch[/variant] form BuildKit uses: "arm64" → "linux/arm64",
// "linux/aarch64" → "linux/arm64", "linux/arm64/v8" → "linux/arm64",
// "linux/arm" → "linux/arm/v7", "x86_64" → "linux/amd64".
func NormalizePlatform(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "" {
		return ""
	}
	parts := strings.Split(p, "/")
	var os, arch, variant string
	switch len(parts) {
	case 1:
		os, arch = "linux", parts[0]
	case 2:
		os, arch = parts[0], parts[1]
	default:
		os, arch, variant = parts[0], parts[1], parts[2]
	}
	switch arch {
	case "x86_64", "x86-64", "amd64":
		arch = "amd64"
		if variant == "v1" {
			variant = ""
		}
	case "aarch64", "arm64":
		arch = "arm64"
		if variant == "v8" {
			variant = ""
		}
	case "armhf", "arm":
		arch = "arm"
		if variant == "" {
			variant = "v7"
		}
	case "armel":
		arch, variant = "arm", "v6"
	case "i386", "i686", "386":
		arch = "386"
	}
	if variant != "" {
		return os + "/" + arch + "/" + variant
	}
	return os + "/" + arch
}
