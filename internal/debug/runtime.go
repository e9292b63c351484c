// Package debug turns the rendered objects of `devloop debug` into objects
// whose containers run under their language's debugger: the runtime is
// detected from what the image runs (its entrypoint, cmd and environment)
// or named in devloop.yaml; the debugger is copied into the pod by an init
// container from a support image; the command is rewritten to start under
// it, listening on a debug port; probes are removed (a process stopped on a
// breakpoint would fail them and be restarted); and the pod template is
// annotated with debug.cloud.google.com/config as Skaffold annotates it, so
// that tools reading that annotation find the debug ports.
//
// Everything here is pure: Rewrite changes objects in memory, Targets reads
// the annotation back for the port-forwards. Building and delivering the
// support images and forwarding the ports are the pipeline's and the
// session's work.
package debug

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// Runtime is a language runtime devloop knows how to debug.
type Runtime string

// The runtimes, as devloop.yaml's debug.runtime names them.
const (
	Go     Runtime = "go"
	Python Runtime = "python"
	Node   Runtime = "nodejs"
)

// Runtimes are the runtimes devloop can debug, in the order docs list them.
var runtimes = []Runtime{Go, Python, Node}

// ParseRuntime checks a runtime named in the configuration ("node" is
// accepted for nodejs).
func ParseRuntime(s string) (Runtime, error) {
	if s == "node" {
		return Node, nil
	}
	if slices.Contains(runtimes, Runtime(s)) {
		return Runtime(s), nil
	}
	names := make([]string, len(runtimes))
	for i, r := range runtimes {
		names[i] = string(r)
	}
	return "", fmt.Errorf("unknown debug runtime %q (known: %s)", s, strings.Join(names, ", "))
}

// Spec is how a runtime is debugged: the default port inside the pod, the
// port's name in the annotation, and the protocol a client speaks on it.
type Spec struct {
	Port     int
	PortName string
	Protocol string
}

// SpecOf returns how r is debugged.
func SpecOf(r Runtime) Spec {
	switch r {
	case Go:
		// Delve's headless server speaks both its JSON-RPC API and the
		// Debug Adapter Protocol on the one port.
		return Spec{Port: 56268, PortName: "dlv", Protocol: "dap"}
	case Python:
		return Spec{Port: 5678, PortName: "dap", Protocol: "debugpy"}
	case Node:
		return Spec{Port: 9229, PortName: "devtools", Protocol: "devtools"}
	}
	return Spec{}
}

// ImageConfig is what an image runs by default (its config's Entrypoint,
// Cmd, Env and WorkingDir).
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
}

var (
	pythonExe = regexp.MustCompile(`^python(\d+(\.\d+)?)?$`)
	pythonApp = map[string]bool{"gunicorn": true, "uvicorn": true, "flask": true}
	nodeExe   = map[string]bool{"node": true, "nodejs": true, "npm": true, "yarn": true}
)

// Detect says which runtime a container runs, from the command it runs
// (argv: Kubernetes' command and args over the image's entrypoint and cmd)
// and its environment (the image's and the container's, NAME=VALUE), as
// Skaffold detects it: the Go runtime's environment variables (GOTRACEBACK,
// GODEBUG, GOMAXPROCS, GOGC, KO_DATA_PATH) or dlv; PYTHON_VERSION or a
// python, gunicorn, uvicorn or flask command; NODE_VERSION or a node, npm
// or yarn command. A shell's `-c` script is looked into for its first word.
// It returns "" when nothing says.
func Detect(argv, env []string) Runtime {
	if exe := commandName(argv); exe != "" {
		switch {
		case exe == "dlv":
			return Go
		case pythonExe.MatchString(exe) || pythonApp[exe]:
			return Python
		case nodeExe[exe]:
			return Node
		}
	}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "GOTRACEBACK", "GODEBUG", "GOMAXPROCS", "GOGC", "KO_DATA_PATH":
			return Go
		case "PYTHON_VERSION":
			return Python
		case "NODE_VERSION", "NODEJS_VERSION":
			return Node
		}
	}
	return ""
}

// commandName is the base name of the program argv runs; for `sh -c
// SCRIPT`, the first word of the script (past `exec`).
func commandName(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	exe := path.Base(argv[0])
	if (exe == "sh" || exe == "bash") && len(argv) >= 3 && argv[1] == "-c" {
		words := strings.Fields(argv[2])
		if len(words) > 1 && words[0] == "exec" {
			words = words[1:]
		}
		if len(words) > 0 {
			return path.Base(words[0])
		}
		return ""
	}
	return exe
}
