package config

import (
	"regexp"
	"strings"
)

var (
	dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// pathComponentRE and domainRE follow the grammar of Docker image references.
	pathComponentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	domainRE        = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?$|^\[[0-9a-fA-F:.]+\](?::[0-9]+)?$`)
	platformRE      = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?$`)
)

// isDNSLabel reports whether s is an RFC 1123 label.
func isDNSLabel(s string) bool { return len(s) <= 63 && dnsLabelRE.MatchString(s) }

// isDNSSubdomain reports whether s is an RFC 1123 subdomain (Kubernetes object names).
func isDNSSubdomain(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}

func isPlatform(s string) bool { return platformRE.MatchString(s) }

// checkImageName returns "" when s is a valid image name without tag or digest, else
// what is wrong, phrased to follow the quoted name.
func checkImageName(s string) string {
	const expected = "; expected an image name such as notes-web or registry.example.com/team/notes-web, without tag or digest (devloop tags images by content)"
	if strings.Contains(s, "@") {
		return "has a digest" + expected
	}
	parts := strings.Split(s, "/")
	if last := parts[len(parts)-1]; strings.Contains(last, ":") {
		return "has a tag" + expected
	}
	if len(s) > 255 {
		return "is too long" + expected
	}
	start := 0
	if len(parts) > 1 && (strings.ContainsAny(parts[0], ".:") || parts[0] == "localhost" || strings.HasPrefix(parts[0], "[")) {
		if !domainRE.MatchString(parts[0]) {
			return "has an invalid registry host" + expected
		}
		start = 1
	}
	for _, c := range parts[start:] {
		if !pathComponentRE.MatchString(c) {
			return "is not a valid image name" + expected
		}
	}
	return ""
}

// isRegistry reports whether s is a registry host with an optional port and path.
func isRegistry(s string) bool {
	if strings.Contains(s, "://") {
		return false
	}
	host, rest, _ := strings.Cut(s, "/")
	if !domainRE.MatchString(host) {
		return false
	}
	if rest == "" {
		return !strings.HasSuffix(s, "/")
	}
	for _, c := range strings.Split(rest, "/") {
		if !pathComponentRE.MatchString(c) {
			return false
		}
	}
	return true
}
