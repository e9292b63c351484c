// Package renderer is the render stage: the manifests of a configuration
// in, the objects to deploy out, with the image references of the pass set.
// Each kind of manifests is a Source (the kustomize overlay, Helm's
// template); raw YAML would be one more Source.
package renderer

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
)

// InputError says the user's configuration or manifests are wrong in a way
// only rendering shows (e.g. a port-forward to a resource the manifests do
// not define). The CLI exits 2 for it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Rendered is what a pass deploys.
type Rendered struct {
	// Objects are applied with server-side apply (the kustomize overlay's).
	Objects []*unstructured.Unstructured
	// Releases are installed or upgraded with Helm.
	Releases []Release
}

// Release is one configured Helm release with what its dry run rendered.
type Release struct {
	Release  helm.Release
	Rendered helm.Rendered
}

// All is every rendered object: the releases' first, then Objects.
func (r Rendered) All() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, rel := range r.Releases {
		out = append(out, rel.Rendered.Objects...)
	}
	return append(out, r.Objects...)
}

// Namespace is the namespace most of the rendered namespaced objects are
// in: the app's, for hooks.
func (r Rendered) Namespace() string {
	count := map[string]int{}
	best := ""
	for _, o := range r.All() {
		ns := o.GetNamespace()
		if ns == "" {
			continue
		}
		count[ns]++
		if count[ns] > count[best] || (count[ns] == count[best] && ns < best) {
			best = ns
		}
	}
	return best
}

// Source renders one kind of manifests.
type Source interface {
	// Check reads the manifests with the images known so far, so that a
	// broken source fails before any build.
	Check(ctx context.Context, cfg *config.Config, images map[string]string) error
	// Render adds the source's objects to into, with images set; cached
	// says the source reused output kept from an earlier pass.
	Render(ctx context.Context, cfg *config.Config, images map[string]string, into *Rendered) (cached bool, err error)
	// Forget drops what the source keeps between passes.
	Forget()
}

// Stage renders a configuration's manifests from its sources, in order.
type Stage struct {
	sink    events.Sink
	sources []Source
}

// New returns the render stage over sources.
func New(sink events.Sink, sources ...Source) *Stage {
	return &Stage{sink: sink, sources: sources}
}

// Check runs every source once before any build: a broken overlay or chart
// fails in milliseconds rather than after the builds.
func (s *Stage) Check(ctx context.Context, cfg *config.Config, images map[string]string) error {
	for _, src := range s.sources {
		if err := src.Check(ctx, cfg, images); err != nil {
			s.sink.Emit(events.Event{Phase: events.PhaseRender, Status: events.StatusFailed, Message: err.Error()})
			return err
		}
	}
	return nil
}

// Render renders every source with images and checks the port-forwards
// against the objects (the render event).
func (s *Stage) Render(ctx context.Context, cfg *config.Config, images map[string]string) (Rendered, error) {
	t := events.Start(s.sink, events.Event{Phase: events.PhaseRender})
	var out Rendered
	reused := false
	for _, src := range s.sources {
		cached, err := src.Render(ctx, cfg, images, &out)
		if err != nil {
			t.Fail(err)
			return out, err
		}
		reused = reused || cached
	}
	all := out.All()
	if err := CheckPortForwards(cfg, all); err != nil {
		t.Fail(err)
		return out, err
	}
	from := sources(cfg)
	if reused {
		from += " (manifests unchanged: kustomize output reused)"
	}
	t.Done(fmt.Sprintf("%d objects from %s", len(all), from))
	return out, nil
}

// Forget drops what the sources keep: a file under the manifests changed,
// or the configuration was reloaded.
func (s *Stage) Forget() {
	for _, src := range s.sources {
		src.Forget()
	}
}

// CheckPortForwards fails when a port-forward names a resource the rendered
// manifests do not define.
func CheckPortForwards(cfg *config.Config, objs []*unstructured.Unstructured) error {
	for _, pf := range cfg.PortForward {
		want := config.ObjectKind(pf.Kind())
		found := false
		for _, o := range objs {
			if o.GetKind() == want && o.GetName() == pf.Name() && (pf.Namespace == "" || pf.Namespace == o.GetNamespace()) {
				found = true
				break
			}
		}
		if !found {
			return &InputError{Err: fmt.Errorf("portForward %s: the manifests of %s define no %s named %q",
				pf.Resource, sources(cfg), want, pf.Name())}
		}
	}
	return nil
}

// sources names what the manifests come from, for messages.
func sources(cfg *config.Config) string {
	var s []string
	if cfg.Deploy.Kustomize.Path != "" {
		s = append(s, cfg.Deploy.Kustomize.Path)
	}
	for _, hr := range cfg.Deploy.Helm.Releases {
		s = append(s, "chart "+hr.Chart)
	}
	return strings.Join(s, " and ")
}
