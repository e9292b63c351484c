package debug

import (
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// podSpecPaths are the paths of the pod specs an object holds.
func podSpecPaths(u *unstructured.Unstructured) [][]string {
	switch u.GetKind() {
	case "Pod":
		return [][]string{{"spec"}}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController":
		return [][]string{{"spec", "template", "spec"}}
	case "CronJob":
		return [][]string{{"spec", "jobTemplate", "spec", "template", "spec"}}
	}
	return nil
}

func objectName(u *unstructured.Unstructured) string {
	return strings.ToLower(u.GetKind()) + "/" + u.GetName()
}

func containersOf(spec map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range list(spec["containers"]) {
		if cm, ok := c.(map[string]any); ok {
			out = append(out, cm)
		}
	}
	return out
}

func containerNamed(spec map[string]any, name string) map[string]any {
	for _, c := range containersOf(spec) {
		if str(c["name"]) == name {
			return c
		}
	}
	return nil
}

func targetOf(spec map[string]any, name string, targets map[string]Target) ImageConfig {
	if c := containerNamed(spec, name); c != nil {
		return targets[str(c["image"])].Image
	}
	return ImageConfig{}
}

// argvOf is what the container runs: Kubernetes' rules for command and
// args over the image's entrypoint and cmd.
func argvOf(c map[string]any, img ImageConfig) []string {
	command, args := stringList(c["command"]), stringList(c["args"])
	switch {
	case len(command) > 0:
		return append(command, args...)
	case len(args) > 0:
		return append(append([]string{}, img.Entrypoint...), args...)
	default:
		return append(append([]string{}, img.Entrypoint...), img.Cmd...)
	}
}

// envOf is the container's environment, NAME=VALUE: the image's, then the
// manifest's literal values over it.
func envOf(c map[string]any, img ImageConfig) []string {
	env := append([]string{}, img.Env...)
	for _, e := range list(c["env"]) {
		em, _ := e.(map[string]any)
		if name := str(em["name"]); name != "" {
			env = append(env, name+"="+str(em["value"]))
		}
	}
	return env
}

func workingDirOf(c map[string]any, img ImageConfig) string {
	if wd := str(c["workingDir"]); wd != "" {
		return wd
	}
	return img.WorkingDir
}

// lookup is the last value of name in env (NAME=VALUE).
func lookup(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

func prependPath(dir, current string) string {
	if current == "" {
		return dir
	}
	return dir + ":" + current
}

// setEnv sets name to value in a container's env list, replacing an entry
// of that name.
func setEnv(vars []any, name, value string) []any {
	for i, e := range vars {
		if em, ok := e.(map[string]any); ok && str(em["name"]) == name {
			vars[i] = map[string]any{"name": name, "value": value}
			return vars
		}
	}
	return append(vars, map[string]any{"name": name, "value": value})
}

// usedPorts are the container ports the pod's containers declare.
func usedPorts(spec map[string]any) map[int]bool {
	used := map[int]bool{}
	for _, c := range containersOf(spec) {
		for _, p := range list(c["ports"]) {
			if pm, ok := p.(map[string]any); ok {
				if n, ok := toInt(pm["containerPort"]); ok {
					used[n] = true
				}
			}
		}
	}
	return used
}

// freePort is want, or the next port above it no container declares.
func freePort(want int, used map[int]bool) int {
	for used[want] {
		want++
	}
	return want
}

// portName is name, or name with a number when the container has a port
// of that name already (port names are unique in a container).
func portName(name string, c map[string]any) string {
	taken := map[string]bool{}
	for _, p := range list(c["ports"]) {
		if pm, ok := p.(map[string]any); ok {
			taken[str(pm["name"])] = true
		}
	}
	out := name
	for i := 2; taken[out]; i++ {
		out = name + strconv.Itoa(i)
	}
	return out
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int64:
		return int(n), true
	case int:
		return n, true
	case float64:
		return int(n), true
	}
	return 0, false
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func stringList(v any) []string {
	var out []string
	for _, x := range list(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
