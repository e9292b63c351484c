package debug

import (
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Where the debuggers live in a pod.
const (
	// Annotation is Skaffold's annotation of a debugged pod template: a
	// JSON object by container name of {artifact, runtime, workingDir,
	// ports}.
	Annotation = "debug.cloud.google.com/config"
	// Volume is the emptyDir the support images' init containers copy
	// the debuggers into, mounted at Dir in the debugged containers.
	Volume = "devloop-debug"
	Dir    = "/dbg"
	// supportRoot is where a support image holds its runtime's files
	// (supportRoot/<runtime>/...), and supportCopy the static copier
	// that puts them into Dir.
	supportRoot = "/support"
	supportCopy = "/busybox"
	// SupportImage holds every runtime's debugger in that layout: Delve
	// and debugpy (Node's is node itself). devloop delivers it from the
	// Docker Engine to the cluster like an artifact's image;
	// hack/env/images.sh builds it.
	SupportImage = "devloop-debug:1"
)

// Target is an image to debug: the artifact that builds it, the runtime
// devloop.yaml names for it (empty: detect) and what the image runs.
type Target struct {
	Artifact string
	Runtime  Runtime
	Image    ImageConfig
}

// Container is one container of the rendered objects that runs a target
// image, and what devloop does with it.
type Container struct {
	// Object is KIND/NAME of the object holding the pod spec.
	Object    string
	Container string
	Artifact  string
	// Runtime is the runtime found; empty when it is unknown (the
	// container then runs undebugged, and Reason says why).
	Runtime Runtime
	Reason  string
	// Port is the debug port in the pod.
	Port int
}

// Find lists the containers of objs that run a target (by deployed
// reference) and the runtime each runs. Nothing is changed.
func Find(objs []*unstructured.Unstructured, targets map[string]Target) []Container {
	var out []Container
	for _, u := range objs {
		for _, p := range podSpecPaths(u) {
			spec, ok, _ := unstructured.NestedMap(u.Object, p...)
			if !ok {
				continue
			}
			for _, c := range containersOf(spec) {
				t, ok := targets[str(c["image"])]
				if !ok {
					continue
				}
				out = append(out, find(u, c, t))
			}
		}
	}
	return out
}

func find(u *unstructured.Unstructured, c map[string]any, t Target) Container {
	fc := Container{Object: objectName(u), Container: str(c["name"]), Artifact: t.Artifact, Runtime: t.Runtime}
	if fc.Runtime == "" {
		fc.Runtime = Detect(argvOf(c, t.Image), envOf(c, t.Image))
	}
	if fc.Runtime == "" {
		fc.Reason = "its runtime is unknown: neither its command nor its environment names Go, Python or Node " +
			"(set debug.runtime on the artifact in devloop.yaml)"
	} else if len(argvOf(c, t.Image)) == 0 {
		fc.Runtime, fc.Reason = "", "neither the manifest nor the image sets a command to run under the debugger"
	}
	return fc
}

// Runtimes are the runtimes of found containers that need a support
// image (Node's debugger is in node itself), sorted.
func Runtimes(found []Container) []Runtime {
	seen := map[Runtime]bool{}
	var out []Runtime
	for _, c := range found {
		if c.Runtime != "" && c.Runtime != Node && !seen[c.Runtime] {
			seen[c.Runtime] = true
			out = append(out, c.Runtime)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Rewrite starts every container of objs that runs a target under its
// runtime's debugger: an emptyDir volume and, per runtime, an init
// container copying the debugger from support[runtime]; the command
// rewritten (see command); the debug port declared; the probes removed;
// the pod template annotated (Annotation). Containers whose runtime is
// unknown are left as they are. It returns every container that runs a
// target, debugged or not, with its debug port.
func Rewrite(objs []*unstructured.Unstructured, targets map[string]Target, support map[Runtime]string) ([]Container, error) {
	var out []Container
	for _, u := range objs {
		for _, p := range podSpecPaths(u) {
			spec, ok, _ := unstructured.NestedMap(u.Object, p...)
			if !ok {
				continue
			}
			found, err := rewriteSpec(u, spec, targets, support)
			out = append(out, found...)
			if err != nil {
				return out, fmt.Errorf("%s: %w", objectName(u), err)
			}
			if len(found) == 0 {
				continue
			}
			config := map[string]any{}
			for _, c := range found {
				if c.Runtime == "" {
					continue
				}
				config[c.Container] = map[string]any{
					"artifact": c.Artifact, "runtime": string(c.Runtime),
					"workingDir": workingDirOf(containerNamed(spec, c.Container), targetOf(spec, c.Container, targets)),
					"ports":      map[string]any{SpecOf(c.Runtime).PortName: int64(c.Port)},
				}
			}
			if len(config) == 0 {
				continue
			}
			if err := unstructured.SetNestedMap(u.Object, spec, p...); err != nil {
				return out, fmt.Errorf("%s: %w", objectName(u), err)
			}
			b, err := json.Marshal(config)
			if err != nil {
				return out, fmt.Errorf("%s: %w", objectName(u), err)
			}
			meta := append(append([]string{}, p[:len(p)-1]...), "metadata", "annotations")
			if len(p) == 1 { // a bare pod: its own metadata
				meta = []string{"metadata", "annotations"}
			}
			if err := unstructured.SetNestedField(u.Object, string(b), append(meta, Annotation)...); err != nil {
				return out, fmt.Errorf("%s: %w", objectName(u), err)
			}
		}
	}
	return out, nil
}

func rewriteSpec(u *unstructured.Unstructured, spec map[string]any, targets map[string]Target, support map[Runtime]string) ([]Container, error) {
	var found []Container
	used := usedPorts(spec)
	needs := map[Runtime]bool{}
	for _, c := range containersOf(spec) {
		t, ok := targets[str(c["image"])]
		if !ok {
			continue
		}
		fc := find(u, c, t)
		if fc.Runtime == "" {
			found = append(found, fc)
			continue
		}
		if fc.Runtime != Node && support[fc.Runtime] == "" {
			return found, fmt.Errorf("container %s: no support image for the %s debugger", fc.Container, fc.Runtime)
		}
		fc.Port = freePort(SpecOf(fc.Runtime).Port, used)
		used[fc.Port] = true
		rewriteContainer(c, t.Image, fc)
		if fc.Runtime != Node {
			needs[fc.Runtime] = true
		}
		found = append(found, fc)
	}
	if len(needs) == 0 {
		return found, nil
	}
	spec["volumes"] = append(list(spec["volumes"]), map[string]any{"name": Volume, "emptyDir": map[string]any{}})
	inits := list(spec["initContainers"])
	for _, r := range runtimes {
		if !needs[r] {
			continue
		}
		inits = append(inits, map[string]any{
			"name":            Volume + "-" + string(r),
			"image":           support[r],
			"command":         toAny([]string{supportCopy, "cp", "-R", supportRoot + "/" + string(r), Dir + "/"}),
			"imagePullPolicy": "IfNotPresent",
			"volumeMounts":    []any{map[string]any{"name": Volume, "mountPath": Dir}},
		})
	}
	spec["initContainers"] = inits
	return found, nil
}

// rewriteContainer starts c under fc's debugger listening on fc.Port.
func rewriteContainer(c map[string]any, img ImageConfig, fc Container) {
	argv := argvOf(c, img)
	cmd, env := command(fc.Runtime, argv, fc.Port, envOf(c, img))
	c["command"] = toAny(cmd)
	delete(c, "args")
	for _, probe := range []string{"livenessProbe", "readinessProbe", "startupProbe"} {
		delete(c, probe)
	}
	spec := SpecOf(fc.Runtime)
	c["ports"] = append(list(c["ports"]), map[string]any{
		"name": portName(spec.PortName, c), "containerPort": int64(fc.Port), "protocol": "TCP",
	})
	if fc.Runtime != Node {
		c["volumeMounts"] = append(list(c["volumeMounts"]), map[string]any{"name": Volume, "mountPath": Dir})
	}
	if len(env) > 0 {
		vars := list(c["env"])
		for _, name := range sortedKeys(env) {
			vars = setEnv(vars, name, env[name])
		}
		c["env"] = vars
	}
}

// command is argv started under r's debugger listening on port, and the
// environment variables to set (their whole values; current holds the
// container's environment, NAME=VALUE):
//   - Go: dlv exec --headless --continue --accept-multiclient
//     --api-version=2 --listen=:PORT PROGRAM -- ARGS; the program starts at
//     once, and clients attach and detach as they like.
//   - Python: python -m debugpy --listen 0.0.0.0:PORT, then the script, or
//     -m and the module; gunicorn, uvicorn and flask run as modules
//     (python3 -m flask ...); debugpy comes from the support image
//     through PYTHONPATH.
//   - Node: node --inspect=0.0.0.0:PORT ARGS; npm and yarn (or a wrapper
//     that starts node) get it through NODE_OPTIONS.
func command(r Runtime, argv []string, port int, current []string) ([]string, map[string]string) {
	switch r {
	case Go:
		prog := argv[0]
		if path.Base(prog) == "dlv" { // already under Delve: keep it
			return argv, nil
		}
		out := []string{Dir + "/go/dlv", "exec", "--headless", "--continue", "--accept-multiclient",
			"--api-version=2", "--listen=:" + strconv.Itoa(port), prog}
		if len(argv) > 1 {
			out = append(append(out, "--"), argv[1:]...)
		}
		return out, nil
	case Python:
		env := map[string]string{"PYTHONPATH": prependPath(Dir+"/python", lookup(current, "PYTHONPATH"))}
		listen := []string{"-m", "debugpy", "--listen", "0.0.0.0:" + strconv.Itoa(port)}
		exe := path.Base(argv[0])
		if pythonApp[exe] {
			return append(append([]string{"python3"}, listen...), append([]string{"-m", exe}, argv[1:]...)...), env
		}
		// python [interpreter options] (script | -m module | -c code) args
		i := 1
		for i < len(argv) && strings.HasPrefix(argv[i], "-") && argv[i] != "-m" && argv[i] != "-c" && argv[i] != "-" {
			i++
		}
		out := append(append([]string{}, argv[:i]...), listen...)
		return append(out, argv[i:]...), env
	case Node:
		inspect := "--inspect=0.0.0.0:" + strconv.Itoa(port)
		if exe := path.Base(argv[0]); exe == "node" || exe == "nodejs" {
			return append([]string{argv[0], inspect}, argv[1:]...), nil
		}
		opts := strings.TrimSpace(lookup(current, "NODE_OPTIONS") + " " + inspect)
		return argv, map[string]string{"NODE_OPTIONS": opts}
	}
	return argv, nil
}
