package deploy

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ImageName returns the repository part of an image reference, without tag or
// digest, normalised so that Docker Hub's implicit forms compare equal:
// "notes-web", "notes-web:latest" and "docker.io/library/notes-web:1" all give
// "notes-web".
func ImageName(ref string) string {
	// Strip to a fixed point, so that odd inputs ("a:1:2") normalise too.
	for {
		n := imageNameOnce(ref)
		if n == ref {
			return n
		}
		ref = n
	}
}

func imageNameOnce(ref string) string {
	name := ref
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 && !strings.Contains(name[i:], "/") {
		name = name[:i]
	}
	for _, p := range []string{"docker.io/", "index.docker.io/", "registry-1.docker.io/"} {
		if strings.HasPrefix(name, p) {
			name = strings.TrimPrefix(name[len(p):], "library/")
			break
		}
	}
	return name
}

// RewriteImage returns the reference that replaces ref: images maps image names
// (as the manifests write them, compared by ImageName) to the references to
// deploy. A reference not in the map is returned unchanged.
func RewriteImage(ref string, images map[string]string) string {
	if len(images) == 0 {
		return ref
	}
	name := ImageName(ref)
	if to, ok := images[name]; ok {
		return to
	}
	for from, to := range images {
		if ImageName(from) == name {
			return to
		}
	}
	return ref
}

// podSpecPaths returns the paths of the pod specs inside u.
func podSpecPaths(u *unstructured.Unstructured) [][]string {
	switch u.GetKind() {
	case "Pod":
		if u.GetAPIVersion() == "v1" {
			return [][]string{{"spec"}}
		}
	case "CronJob":
		return [][]string{{"spec", "jobTemplate", "spec", "template", "spec"}}
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "template", "spec", "containers"); ok {
		return [][]string{{"spec", "template", "spec"}}
	}
	return nil
}

var containerFields = []string{"containers", "initContainers", "ephemeralContainers"}

// rewriteImages replaces the images of every container of every pod spec of u.
func rewriteImages(u *unstructured.Unstructured, images map[string]string) {
	for _, p := range podSpecPaths(u) {
		spec, ok, _ := unstructured.NestedFieldNoCopy(u.Object, p...)
		specMap, isMap := spec.(map[string]interface{})
		if !ok || !isMap {
			continue
		}
		for _, f := range containerFields {
			list, _ := specMap[f].([]interface{})
			for _, c := range list {
				cm, ok := c.(map[string]interface{})
				if !ok {
					continue
				}
				img, ok := cm["image"].(string)
				if !ok {
					continue
				}
				if to := RewriteImage(img, images); to != img {
					cm["image"] = to
				}
			}
		}
	}
}
