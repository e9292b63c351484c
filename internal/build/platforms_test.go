package build

import (
	"slices"
	"strings"
	"testing"
)

func TestResolvePlatforms(t *testing.T) {
	nodes := []string{"linux/amd64", "linux/arm64/v8", "linux/amd64"}
	cases := []struct {
		name                       string
		flag, artifact, global, ns []string
		want                       []string
		source                     string
	}{
		{"flag wins", []string{"arm64"}, []string{"linux/amd64"}, []string{"linux/amd64"}, nodes, []string{"linux/arm64"}, "from --platform"},
		{"flag comma list", []string{"linux/arm64,linux/amd64"}, nil, nil, nil, []string{"linux/amd64", "linux/arm64"}, "from --platform"},
		{"artifact", nil, []string{"linux/arm/v7"}, []string{"linux/amd64"}, nodes, []string{"linux/arm/v7"}, "from the artifact's platforms"},
		{"global", nil, nil, []string{"amd64"}, nodes, []string{"linux/amd64"}, "from build.platforms"},
		{"nodes dedup sorted", nil, nil, nil, nodes, []string{"linux/amd64", "linux/arm64"}, "from the cluster's nodes (linux/amd64, linux/arm64)"},
		{"empty entries skipped", []string{""}, []string{" "}, nil, []string{"linux/amd64"}, []string{"linux/amd64"}, "from the cluster's nodes (linux/amd64)"},
		{"nothing", nil, nil, nil, nil, nil, "the builder's default"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ResolvePlatforms(c.flag, c.artifact, c.global, c.ns)
			if !slices.Equal(got.Platforms, c.want) || !strings.HasPrefix(got.Source, c.source) {
				t.Fatalf("got %v %q, want %v %q", got.Platforms, got.Source, c.want, c.source)
			}
		})
	}
}

func TestNormalizePlatform(t *testing.T) {
	for in, want := range map[string]string{
		"arm64": "linux/arm64", "linux/aarch64": "linux/arm64", "linux/arm64/v8": "linux/arm64",
		"x86_64": "linux/amd64", "Linux/AMD64": "linux/amd64", "linux/arm": "linux/arm/v7",
		"linux/arm/v6": "linux/arm/v6", "windows/amd64": "windows/amd64", "linux/riscv64": "linux/riscv64",
		" ": "",
	} {
		if got := NormalizePlatform(in); got != want {
			t.Errorf("NormalizePlatform(%q) = %q, want %q", in, got, want)
		}
	}
}
