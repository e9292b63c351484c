package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

// envRef is ${NAME} or $NAME in a value that may use the environment.
var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// expandEnv replaces ${NAME} and $NAME in deploy.namespace with the
// environment (a per-person namespace on a shared cluster: dev-${USER}).
// A variable that is not set is an error rather than an empty string.
func expandEnv(c *Config, getenv func(string) (string, bool)) ErrorList {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	var errs ErrorList
	expand := func(path string, s *string) {
		if !strings.Contains(*s, "$") {
			return
		}
		var missing []string
		out := envRef.ReplaceAllStringFunc(*s, func(m string) string {
			name := strings.Trim(m, "${}")
			v, ok := getenv(name)
			if !ok {
				missing = append(missing, name)
			}
			return strings.ToLower(v)
		})
		if len(missing) > 0 {
			o := c.origins[path]
			errs = append(errs, &Error{File: c.display, Line: o.Line, Column: o.Column, Path: path,
				Msg: fmt.Sprintf("%s: %q uses %s, which is not set in the environment", path, *s, strings.Join(missing, ", "))})
			return
		}
		if !isDNSLabel(out) {
			o := c.origins[path]
			errs = append(errs, &Error{File: c.display, Line: o.Line, Column: o.Column, Path: path,
				Msg: fmt.Sprintf("%s: %q expands to %q, which is not a valid namespace (a DNS label: at most 63 lower-case letters, digits and '-')", path, *s, out)})
			return
		}
		*s = out
	}
	expand("deploy.namespace", &c.Deploy.Namespace)
	return errs
}
