package renderer

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
)

// fakeHelm records the releases it was asked to render.
type fakeHelm struct {
	rendered  []helm.Release
	renderErr error
}

func (f *fakeHelm) Render(_ context.Context, r helm.Release) (helm.Rendered, error) {
	f.rendered = append(f.rendered, r)
	if f.renderErr != nil {
		return helm.Rendered{}, f.renderErr
	}
	return helm.Rendered{Objects: []*unstructured.Unstructured{obj("Service", r.Namespace, r.Config.Name+"-web")}}, nil
}

type recorder struct{ evs []events.Event }

func (r *recorder) Emit(e events.Event) { r.evs = append(r.evs, e) }

func helmConfig() *config.Config {
	cfg := &config.Config{}
	cfg.Metadata.Name = "app"
	cfg.Deploy.Helm.Releases = []config.HelmRelease{
		{Name: "one", Chart: "charts/one", Namespace: "own"},
		{Name: "two", Chart: "charts/two"},
	}
	return cfg
}

// Releases resolve their namespace (their own, deploy.namespace, the
// context's), get the pass's images and render in order; the render event
// counts their objects and names the charts.
func TestHelmReleasesRenderInOrder(t *testing.T) {
	cfg := helmConfig()
	fh, rec := &fakeHelm{}, &recorder{}
	s := New(rec, NewKustomize(nil), NewHelm(fh, "context-ns"))
	rd, err := s.Render(context.Background(), cfg, map[string]string{"web": "web:abc"})
	if err != nil {
		t.Fatal(err)
	}
	objs := rd.All()
	if len(objs) != 2 || objs[0].GetNamespace() != "own" || objs[1].GetNamespace() != "context-ns" || len(rd.Objects) != 0 {
		t.Fatalf("objects %v", objs)
	}
	if len(rd.Releases) != 2 || rd.Releases[0].Release.Config.Name != "one" || rd.Releases[1].Release.Config.Name != "two" {
		t.Fatalf("releases %+v", rd.Releases)
	}
	if fh.rendered[0].Images["web"] != "web:abc" || fh.rendered[0].ConfigName != "app" {
		t.Errorf("release %+v", fh.rendered[0])
	}
	if e := rec.evs[len(rec.evs)-1]; e.Status != events.StatusDone || e.Message != "2 objects from chart charts/one and chart charts/two" {
		t.Errorf("render event %+v", e)
	}
	if rd.Namespace() != "context-ns" && rd.Namespace() != "own" {
		t.Errorf("app namespace %q", rd.Namespace())
	}

	cfg.Deploy.Namespace = "dev-me"
	if got := ReleaseNamespace(cfg, cfg.Deploy.Helm.Releases[1], "context-ns"); got != "dev-me" {
		t.Errorf("namespace %q, want deploy.namespace", got)
	}
}

// A chart error keeps the chart's message, is not a usage error, and the
// check reports it as a failed render.
func TestHelmRenderError(t *testing.T) {
	rec := &recorder{}
	s := New(rec, NewKustomize(nil), NewHelm(&fakeHelm{renderErr: errors.New(`template: notes/templates/x.yaml:1: required value`)}, "ns"))
	err := s.Check(context.Background(), helmConfig(), nil)
	var ie *InputError
	if err == nil || !strings.Contains(err.Error(), "required value") || errors.As(err, &ie) {
		t.Fatalf("got %v, want the chart's message, not an InputError", err)
	}
	if len(rec.evs) != 1 || rec.evs[0].Phase != events.PhaseRender || rec.evs[0].Status != events.StatusFailed {
		t.Fatalf("events %+v, want one failed render", rec.evs)
	}
}

// A broken overlay is an InputError from the check, before any build.
func TestBrokenOverlayIsAnInputError(t *testing.T) {
	cfg := &config.Config{}
	cfg.Deploy.Kustomize.Dir = t.TempDir() // no kustomization.yaml
	err := New(&recorder{}, NewKustomize(nil)).Check(context.Background(), cfg, nil)
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an InputError", err)
	}
}
