package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
)

// fakeHelm records the releases it was asked to render and deploy.
type fakeHelm struct {
	rendered, deployed []helm.Release
	renderErr          error
}

func (f *fakeHelm) Render(_ context.Context, r helm.Release) (helm.Rendered, error) {
	f.rendered = append(f.rendered, r)
	if f.renderErr != nil {
		return helm.Rendered{}, f.renderErr
	}
	return helm.Rendered{Objects: []*unstructured.Unstructured{obj("Service", r.Namespace, r.Config.Name+"-web")}}, nil
}

func (f *fakeHelm) Deploy(_ context.Context, r helm.Release, _ helm.Rendered) (helm.Result, error) {
	f.deployed = append(f.deployed, r)
	return helm.Result{Action: helm.ActionInstalled, Revision: 1, Hooks: []string{"[post-install] Job/seed: Succeeded"},
		Objects: []*unstructured.Unstructured{obj("Service", r.Namespace, r.Config.Name+"-web")}}, nil
}

type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) Emit(e events.Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }

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
// context's), get the pass's images, render and deploy in order, and the
// helm events say what happened.
func TestHelmReleasesInOrder(t *testing.T) {
	cfg := helmConfig()
	r := testRunner(t, cfg)
	fh, rec := &fakeHelm{}, &recorder{}
	r.helm, r.sink = fh, rec
	images := map[string]string{"web": "web:abc"}
	rels, objs, err := r.renderHelm(context.Background(), images)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || objs[0].GetNamespace() != "own" || objs[1].GetNamespace() != "context-ns" {
		t.Fatalf("objects %v", objs)
	}
	if fh.rendered[0].Images["web"] != "web:abc" || fh.rendered[0].ConfigName != "app" {
		t.Errorf("release %+v", fh.rendered[0])
	}
	if _, err := r.deployHelm(context.Background(), rels); err != nil {
		t.Fatal(err)
	}
	if len(fh.deployed) != 2 || fh.deployed[0].Config.Name != "one" || fh.deployed[1].Config.Name != "two" {
		t.Fatalf("deployed %+v", fh.deployed)
	}
	var done []string
	for _, e := range rec.evs {
		if e.Phase == events.PhaseHelm && e.Status == events.StatusDone {
			done = append(done, e.Object+": "+e.Message)
		}
	}
	if len(done) != 2 || !strings.Contains(done[0], "release/one: charts/one installed revision 1 in own") || !strings.Contains(done[0], "post-install") {
		t.Errorf("helm events %q", done)
	}

	cfg.Deploy.Namespace = "dev-me"
	if got := ReleaseNamespace(cfg, cfg.Deploy.Helm.Releases[1], "context-ns"); got != "dev-me" {
		t.Errorf("namespace %q, want deploy.namespace", got)
	}
}

// A chart error keeps the chart's message and is not a usage error.
func TestHelmRenderError(t *testing.T) {
	r := testRunner(t, helmConfig())
	r.helm = &fakeHelm{renderErr: errors.New(`template: notes/templates/x.yaml:1: required value`)}
	_, _, err := r.renderHelm(context.Background(), nil)
	var ie *InputError
	if err == nil || !strings.Contains(err.Error(), "required value") || errors.As(err, &ie) {
		t.Fatalf("got %v, want the chart's message, not an InputError", err)
	}
	if got := sources(helmConfig()); got != "chart charts/one and chart charts/two" {
		t.Errorf("sources %q", got)
	}
}
