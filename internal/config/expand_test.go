package config

import (
	"strings"
	"testing"
)

func TestNamespaceFromTheEnvironment(t *testing.T) {
	base := strings.Replace(minimal, "    path: k8s/overlays/dev\n", "    path: k8s/overlays/dev\n  namespace: NS\n", 1)
	load := func(ns string, env map[string]string) (*Config, error) {
		return Load(project(t, strings.Replace(base, "NS", ns, 1)), Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	}
	c, err := load(`"dev-${USER}"`, map[string]string{"USER": "Ada"})
	if err != nil || c.Deploy.Namespace != "dev-ada" {
		t.Fatalf("namespace %v, %v; want dev-ada", c, err)
	}
	if _, err := load(`"dev-$TEAM_X"`, nil); err == nil || !strings.Contains(err.Error(), "TEAM_X, which is not set") {
		t.Fatalf("unset variable: %v", err)
	}
	if _, err := load(`"dev-${USER}"`, map[string]string{"USER": "john.doe"}); err == nil || !strings.Contains(err.Error(), `expands to "dev-john.doe", which is not a valid namespace`) {
		t.Fatalf("invalid expansion: %v", err)
	}
}
