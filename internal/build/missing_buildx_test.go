package build

import "testing"

func TestMissingBuildx(t *testing.T) {
	noPlugin := []string{"unknown flag: --progress", "", "Usage:  docker [OPTIONS] COMMAND [ARG...]", "", "Run 'docker --help' for more information"}
	oldBuildx := []string{"unknown flag: --call", "See 'docker buildx build --help'.", "Usage:  docker buildx build [OPTIONS] PATH | URL | -"}
	if !missingBuildx(noPlugin) {
		t.Errorf("the docker CLI's own usage error was not read as a missing buildx plugin")
	}
	if missingBuildx(oldBuildx) || missingBuildx(nil) || missingBuildx([]string{"ERROR: failed to solve"}) {
		t.Errorf("a buildx error was read as a missing plugin")
	}
	if !missingBuildx([]string{"docker: 'buildx' is not a docker command."}) {
		t.Errorf("'buildx' is not a docker command was not read as a missing plugin")
	}
}
