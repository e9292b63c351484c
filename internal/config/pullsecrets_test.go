package config

import (
	"slices"
	"strings"
	"testing"
)

func TestImagePullSecrets(t *testing.T) {
	with := func(list string) string {
		return strings.Replace(minimal, "    path: k8s/overlays/dev\n", "    path: k8s/overlays/dev\n  imagePullSecrets: "+list+"\n", 1)
	}
	c, err := Load(project(t, with("[team-registry, ghcr-pull]")), Options{})
	if err != nil || !slices.Equal(c.Deploy.ImagePullSecrets, []string{"team-registry", "ghcr-pull"}) {
		t.Fatalf("imagePullSecrets %v, %v", c, err)
	}
	_, err = Load(project(t, with("[ok, Not_A_Name]")), Options{})
	list := configErrors(t, err)
	if len(list) != 1 || !strings.Contains(list[0].Error(), `deploy.imagePullSecrets[1]: "Not_A_Name" is not a valid Secret name`) {
		t.Fatalf("bad name: %v", err)
	}
	if list[0].Line == 0 {
		t.Errorf("the error has no position: %v", list[0])
	}
}
