package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// scalarString accepts a scalar that YAML resolves to a string. Numbers and booleans
// are refused with a hint, since `tag: 1.10` silently becoming "1.1" is a classic trap.
func (d *decoder) scalarString(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "%s: expected a string, got %s", path, describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!int", "!!float", "!!bool":
		d.errorf(n, path, "%s: expected a string, got %s (quote it if you mean the text)", path, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		d.errorf(n, path, "%s: expected an integer, got %s", path, describe(n))
		return
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 32)
	if err != nil {
		d.errorf(n, path, "%s: expected an integer, got %q", path, n.Value)
		return
	}
	v.SetInt(i)
}

// decodeBool accepts true or false only: YAML 1.1's yes/no/on/off are
// strings to yaml.v3, and a quoted "true" is refused like any string.
func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		d.errorf(n, path, "%s: expected true or false, got %s", path, describe(n))
		return
	}
	b, err := strconv.ParseBool(n.Value)
	if err != nil {
		d.errorf(n, path, "%s: expected true or false, got %q", path, n.Value)
		return
	}
	v.SetBool(b)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.errorf(n, path, "%s: expected a duration such as 5m, 30s or 80ms, got %s", path, describe(n))
		return
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		d.errorf(n, path, "%s: expected a duration such as 5m, 30s or 80ms, got %q", path, n.Value)
		return
	}
	v.SetInt(int64(dur))
}

// suggest returns ` (did you mean "x"?)` for the field closest to a misspelled name.
func suggest(fs []fieldInfo, name string) string {
	best, bestDist := "", 3
	for _, f := range fs {
		if d := editDistance(strings.ToLower(f.name), strings.ToLower(name)); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
