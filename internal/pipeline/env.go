package pipeline

import (
	"sync"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/hooks"
)

// hookEnv makes the environment of a hook: what the pass is working on.
// Safe from any goroutine.
type hookEnv struct {
	kubeContext, kubeNamespace string

	mu    sync.Mutex
	cfg   *config.Config
	appNS string // the namespace of most rendered objects
}

func (h *hookEnv) setConfig(cfg *config.Config) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cfg = cfg
}

func (h *hookEnv) setAppNamespace(ns string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.appNS = ns
}

func (h *hookEnv) env(image, tag, ref string) hooks.Env {
	h.mu.Lock()
	cfg, ns := h.cfg, h.appNS
	h.mu.Unlock()
	profiles := make([]string, 0, len(cfg.ActiveProfiles))
	for _, p := range cfg.ActiveProfiles {
		profiles = append(profiles, p.Name)
	}
	if cfg.Deploy.Namespace != "" || ns == "" {
		ns = namespaceOr(cfg.Deploy.Namespace, h.kubeNamespace)
	}
	return hooks.Env{Image: image, Tag: tag, ImageRef: ref, KubeContext: h.kubeContext,
		Namespace: ns, ConfigDir: cfg.Dir, Profiles: profiles}
}

func namespaceOr(ns, fallback string) string {
	if ns != "" {
		return ns
	}
	return fallback
}
