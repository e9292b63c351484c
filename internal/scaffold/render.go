package scaffold

import (
	"fmt"
	"strings"
)

// Render is the commented devloop.yaml for p.
func Render(p *Project) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# devloop.yaml, written by devloop init. The reference of every field, with its
# default: https://github.com/devloop-dev/devloop/blob/main/devloop.yaml
#   devloop run    build what changed, deliver it to the cluster, apply and wait, once
#   devloop dev    the same on every save, with logs, port-forwards and a dashboard
apiVersion: devloop.dev/v1alpha1
kind: Config
metadata:
  # devloop labels what it applies with this name and deletes only what carries it.
  name: %q
build:
  # One artifact per Dockerfile whose image the manifests use. Each is tagged by the
  # hash of its content: an unchanged artifact is never rebuilt.
  artifacts:
`, p.Name)
	for _, a := range p.Artifacts {
		fmt.Fprintf(&b, "    - image: %q # the name the manifests use; devloop rewrites it to the built tag\n      context: %q\n", a.Image, a.Context)
	}
	if len(p.Unused) > 0 {
		fmt.Fprintf(&b, "  # Dockerfiles whose image no manifest uses (add them if they should be built):\n")
		for _, d := range p.Unused {
			fmt.Fprintf(&b, "  #   - image: ?\n  #     context: %s\n", d)
		}
	}
	fmt.Fprintf(&b, `deploy:
  kustomize:
    # The kustomize directory devloop renders and applies with server-side apply.
    path: %q
  # How long to wait for everything to be ready.
  statusTimeout: 5m
`, p.Overlay)
	if p.Forward != nil {
		fmt.Fprintf(&b, `# devloop dev (and run --port-forward) serve these on 127.0.0.1, following the newest
# Ready pod.
portForward:
  - resource: %q
    port: %d
    localPort: %d
`, "service/"+p.Forward.Service, p.Forward.Port, p.Forward.LocalPort)
	}
	return b.String()
}
