package deploy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Where devloop's helper lives in a pod it is injected into.
const (
	HelperVolume = "devloop-helper"
	HelperDir    = "/devloop"
	HelperPath   = HelperDir + "/helper"
	// HelperAnnotation marks the pod templates the helper was injected into.
	HelperAnnotation = "devloop.dev/helper"
)

// ImageCommand is what an image runs by default (its config's Entrypoint
// and Cmd, with its Env and WorkingDir).
type ImageCommand struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
}

// HelperInjection says where to inject devloop's helper: `devloop dev` only,
// for the artifacts whose sync rules restart the process.
type HelperInjection struct {
	// Image is the helper image's reference.
	Image string
	// Targets are the deployed references of the images to wrap, with what
	// each image runs by default.
	Targets map[string]ImageCommand
}

// InjectHelper rewrites every pod spec of objs with a container whose image
// is a target: an emptyDir volume, an init container that copies the helper
// into it, and the container's command wrapped as `helper run -- ARGV`,
// where ARGV is what Kubernetes would have run (command or the image's
// entrypoint, then args or, without a command, the image's cmd). It returns
// the number of containers wrapped.
func InjectHelper(objs []*unstructured.Unstructured, inj HelperInjection) (int, error) {
	n := 0
	for _, u := range objs {
		for _, p := range podSpecPaths(u) {
			spec, ok, _ := unstructured.NestedMap(u.Object, p...)
			if !ok {
				continue
			}
			wrapped, err := injectSpec(spec, inj)
			if err != nil {
				return n, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
			}
			if wrapped == 0 {
				continue
			}
			n += wrapped
			if err := unstructured.SetNestedMap(u.Object, spec, p...); err != nil {
				return n, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
			}
			if len(p) > 1 { // a template: mark its pods
				meta := append(append([]string{}, p[:len(p)-1]...), "metadata", "annotations")
				_ = unstructured.SetNestedField(u.Object, "injected", append(meta, HelperAnnotation)...)
			}
		}
	}
	return n, nil
}

func injectSpec(spec map[string]any, inj HelperInjection) (int, error) {
	containers, _ := spec["containers"].([]any)
	n := 0
	for _, c := range containers {
		cm, ok := c.(map[string]any)
		if !ok {
			continue
		}
		img, _ := cm["image"].(string)
		ic, ok := inj.Targets[img]
		if !ok {
			continue
		}
		argv := resolveArgv(stringList(cm["command"]), stringList(cm["args"]), ic)
		if len(argv) == 0 {
			return n, fmt.Errorf("container %v: neither the manifest nor the image %s sets a command; the restart has nothing to run", cm["name"], img)
		}
		cm["command"] = toAny(append([]string{HelperPath, "run", "--"}, argv...))
		delete(cm, "args")
		cm["volumeMounts"] = append(list(cm["volumeMounts"]), map[string]any{"name": HelperVolume, "mountPath": HelperDir})
		n++
	}
	if n == 0 {
		return 0, nil
	}
	spec["volumes"] = append(list(spec["volumes"]), map[string]any{"name": HelperVolume, "emptyDir": map[string]any{}})
	spec["initContainers"] = append(list(spec["initContainers"]), map[string]any{
		"name":         HelperVolume,
		"image":        inj.Image,
		"command":      toAny([]string{"/devloop-helper", "install", HelperPath}),
		"volumeMounts": []any{map[string]any{"name": HelperVolume, "mountPath": HelperDir}},
	})
	return n, nil
}

// resolveArgv is what a container runs: Kubernetes' rules for command and
// args over the image's entrypoint and cmd.
func resolveArgv(command, args []string, ic ImageCommand) []string {
	switch {
	case len(command) > 0 && len(args) > 0:
		return append(command, args...)
	case len(command) > 0:
		return command
	case len(args) > 0:
		return append(append([]string{}, ic.Entrypoint...), args...)
	default:
		return append(append([]string{}, ic.Entrypoint...), ic.Cmd...)
	}
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
