package deployer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/devloop-dev/devloop/internal/config"
	"github.com/devloop-dev/devloop/internal/deploy"
	"github.com/devloop-dev/devloop/internal/events"
	"github.com/devloop-dev/devloop/internal/helm"
	"github.com/devloop-dev/devloop/internal/stage/renderer"
	"github.com/devloop-dev/devloop/internal/status"
)

func obj(kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}

// fakes records, in order, what the stage asked of the cluster.
type fakes struct {
	calls    []string
	applyErr error
	waited   []*unstructured.Unstructured
}

type fakeApplier struct {
	f  *fakes
	ns string
}

func (a *fakeApplier) Apply(_ context.Context, objs []*unstructured.Unstructured, opts deploy.ApplyOptions) (deploy.ApplyResult, error) {
	a.f.calls = append(a.f.calls, "apply "+a.ns+" "+opts.ConfigName)
	var res deploy.ApplyResult
	for _, o := range objs {
		res.Objects = append(res.Objects, deploy.ObjectResult{Ref: deploy.ObjectRef{Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()}, Action: deploy.ActionCreated})
		res.Writes++
	}
	return res, a.f.applyErr
}

func (a *fakeApplier) Prune(_ context.Context, cfg string, keep []deploy.ObjectRef) ([]deploy.ObjectRef, error) {
	a.f.calls = append(a.f.calls, "prune "+cfg)
	return []deploy.ObjectRef{{Kind: "ConfigMap", Namespace: "app", Name: "gone"}}, nil
}

func (f *fakes) Wait(_ context.Context, _ time.Time, objs []*unstructured.Unstructured, _ time.Duration, _ func(status.ObjectStatus)) error {
	f.calls = append(f.calls, "wait")
	f.waited = objs
	return nil
}

func (f *fakes) Deploy(_ context.Context, r helm.Release, _ helm.Rendered) (helm.Result, error) {
	f.calls = append(f.calls, "helm "+r.Config.Name)
	return helm.Result{Action: helm.ActionInstalled, Revision: 1, Hooks: []string{"[post-install] Job/seed: Succeeded"},
		Objects: []*unstructured.Unstructured{obj("Service", r.Namespace, "deployed-"+r.Config.Name)}}, nil
}

type recorder struct{ evs []events.Event }

func (r *recorder) Emit(e events.Event) { r.evs = append(r.evs, e) }

func newStage(f *fakes, rec events.Sink) *Stage {
	s := New(rec, func(ns string) Applier { return &fakeApplier{f: f, ns: ns} }, f, f, Options{})
	s.SetNamespace("app")
	return s
}

func testConfig() *config.Config {
	cfg := &config.Config{}
	cfg.Metadata.Name = "notes"
	cfg.Deploy.Kustomize.Dir = "/k8s"
	return cfg
}

// Helm releases first, then the apply, the prune and the wait, which
// waits for the releases' objects as installed and the applied ones.
func TestDeployOrder(t *testing.T) {
	f, rec := &fakes{}, &recorder{}
	s := newStage(f, rec)
	rd := renderer.Rendered{
		Objects:  []*unstructured.Unstructured{obj("Deployment", "app", "web")},
		Releases: []renderer.Release{{Release: helm.Release{Config: config.HelmRelease{Name: "db", Chart: "charts/db"}, Namespace: "app"}}},
	}
	res, err := s.Deploy(context.Background(), testConfig(), rd)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, ", "); got != "helm db, apply app notes, prune notes, wait" {
		t.Fatalf("calls %q", got)
	}
	if len(f.waited) != 2 || f.waited[0].GetName() != "deployed-db" || f.waited[1].GetName() != "web" {
		t.Fatalf("waited for %v", f.waited)
	}
	if len(res.Objects) != 2 || res.Apply.Writes != 1 || len(res.Pruned) != 1 {
		t.Fatalf("result %+v", res)
	}
	var helmDone, pruneDone bool
	for _, e := range rec.evs {
		helmDone = helmDone || (e.Phase == events.PhaseHelm && e.Status == events.StatusDone &&
			strings.Contains(e.Message, "charts/db installed revision 1 in app") && strings.Contains(e.Message, "post-install"))
		pruneDone = pruneDone || (e.Phase == events.PhasePrune && e.Message == "deleted ConfigMap/app/gone")
	}
	if !helmDone || !pruneDone {
		t.Errorf("events %+v", rec.evs)
	}
}

// A failed apply returns what was applied, and nothing is pruned.
func TestFailedApplyStopsBeforePrune(t *testing.T) {
	f := &fakes{applyErr: errors.New("field is immutable")}
	s := newStage(f, &recorder{})
	res, err := s.Deploy(context.Background(), testConfig(), renderer.Rendered{Objects: []*unstructured.Unstructured{obj("Job", "app", "seed")}})
	if err == nil || len(res.Apply.Objects) != 1 || len(res.Objects) != 1 {
		t.Fatalf("err %v, result %+v", err, res)
	}
	if got := strings.Join(f.calls, ", "); got != "apply app notes" {
		t.Fatalf("calls %q, want the apply only", got)
	}
}

// A new default namespace makes a new applier; the same one keeps it
// (and its inventory cache).
func TestSetNamespace(t *testing.T) {
	s := newStage(&fakes{}, &recorder{})
	first := s.applier
	s.SetNamespace("app")
	if s.applier != first {
		t.Fatal("the same namespace replaced the applier")
	}
	s.SetNamespace("other")
	if a, ok := s.applier.(*fakeApplier); !ok || a.ns != "other" || s.applier == first {
		t.Fatalf("applier %+v, want one for namespace other", s.applier)
	}
}
