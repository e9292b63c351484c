package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// pass is one Apply call.
type pass struct {
	a      *Applier
	config string
	force  bool
	adopt  bool
	inv    *inventory // the inventory before this pass

	adopted []ObjectRef // objects adopted, this pass or earlier

	mu      sync.Mutex
	writes  int
	applied []ObjectResult
	failed  []*ObjectError
}

// Apply server-side applies objs (rendered by Render): Namespaces first, then
// CRDs (waiting until they are Established), then the rest concurrently.
// Objects whose desired state equals what devloop last applied are not
// written. A Job whose pod template changed is deleted and recreated. On
// failure the *ApplyError says what this pass applied and what failed.
func (a *Applier) Apply(ctx context.Context, objs []*unstructured.Unstructured, opts ApplyOptions) (ApplyResult, error) {
	start := time.Now()
	cfg, err := configName(objs, opts.ConfigName)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("applying: %w", err)
	}
	refs := make([]ObjectRef, 0, len(objs))
	namespaces := make([]string, 0, len(objs))
	for _, o := range objs {
		r := a.refWithNamespace(o)
		refs = append(refs, r)
		namespaces = append(namespaces, r.Namespace)
	}
	invNS := a.opts.InventoryNamespace
	if invNS == "" {
		invNS = InventoryNamespace(namespaces, a.opts.DefaultNamespace)
	}
	inv, err := a.loadInventory(ctx, cfg, invNS, false)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("applying: %w", err)
	}
	p := &pass{a: a, config: cfg, force: opts.Force, adopt: opts.Adopt, inv: inv}
	nsObjs, crds, rest := phases(objs)
	result := func() ApplyResult {
		sort.Slice(p.applied, func(i, j int) bool { return p.applied[i].Ref.key() < p.applied[j].Ref.key() })
		return ApplyResult{Objects: p.applied, Writes: p.writes, Duration: time.Since(start)}
	}
	fail := func(remaining ...[]*unstructured.Unstructured) (ApplyResult, error) {
		e := &ApplyError{Failed: p.failed, Applied: p.applied}
		for _, r := range remaining {
			for _, o := range r {
				e.NotApplied = append(e.NotApplied, RefOf(o))
			}
		}
		return result(), e
	}

	// Another config's objects in a target namespace: refuse before any write.
	if errs := a.checkOtherConfigs(ctx, cfg, refs); len(errs) > 0 {
		p.failed = append(p.failed, errs...)
		return fail(nsObjs, crds, rest)
	}

	// Namespaces.
	if err := p.run(ctx, nsObjs); err != nil {
		return fail(crds, rest)
	}
	var created []string
	for _, r := range p.applied {
		if r.Action == ActionCreated && r.Ref.Kind == "Namespace" && r.Ref.Group == "" {
			created = append(created, r.Ref.Name)
		}
	}
	n, err := a.recordApplied(ctx, cfg, invNS, refs, created, p.adopted)
	p.writes += n
	if err != nil {
		p.failed = append(p.failed, &ObjectError{Ref: inventoryRef(invNS, cfg), Err: err})
		return fail(crds, rest)
	}

	// CRDs, then wait until they serve.
	if err := p.run(ctx, crds); err != nil {
		return fail(rest)
	}
	if len(crds) > 0 {
		if err := a.waitEstablished(ctx, crds); err != nil {
			p.failed = append(p.failed, &ObjectError{Ref: RefOf(crds[0]), Err: err})
			return fail(rest)
		}
		a.mapper.Reset()
	}

	// Everything else.
	if err := p.run(ctx, rest); err != nil {
		return fail()
	}
	// Adoptions are marked on the objects themselves; the inventory says so too.
	n, err = a.recordApplied(ctx, cfg, invNS, nil, nil, p.adopted)
	p.writes += n
	if err != nil {
		p.failed = append(p.failed, &ObjectError{Ref: inventoryRef(invNS, cfg), Err: err})
		return fail()
	}
	a.log.Debug("applied", zap.String("config", cfg), zap.Int("objects", len(p.applied)),
		zap.Int("writes", p.writes), zap.Duration("took", time.Since(start)))
	return result(), nil
}

// refWithNamespace is the ref of o as it will be applied (default namespace filled in).
func (a *Applier) refWithNamespace(o *unstructured.Unstructured) ObjectRef {
	r := RefOf(o)
	if r.Namespace == "" {
		if m, err := a.mapping(o.GroupVersionKind()); err == nil && m.Scope.Name() == meta.RESTScopeNameNamespace {
			r.Namespace = a.opts.DefaultNamespace
		}
	}
	return r
}

// errPhase says a phase had failures (recorded in p.failed).
var errPhase = errors.New("phase failed")

// run applies one phase; it returns errPhase if any object failed.
func (p *pass) run(ctx context.Context, objs []*unstructured.Unstructured) error {
	if len(objs) == 0 {
		return nil
	}
	items := p.items(objs)
	if len(p.failed) > 0 {
		return errPhase
	}
	if err := p.findLive(ctx, items); err != nil {
		p.failed = append(p.failed, &ObjectError{Ref: items[0].ref(), Err: err})
		return errPhase
	}
	if len(p.failed) > 0 {
		return errPhase // nothing of this phase is written
	}
	g := new(errgroup.Group)
	g.SetLimit(p.a.opts.Concurrency)
	for _, it := range items {
		g.Go(func() error {
			res, writes, oerr := p.applyOne(ctx, it)
			p.mu.Lock()
			defer p.mu.Unlock()
			p.writes += writes
			if oerr != nil {
				p.failed = append(p.failed, oerr)
			} else {
				p.applied = append(p.applied, res)
			}
			return nil
		})
	}
	_ = g.Wait()
	if len(p.failed) > 0 {
		return errPhase
	}
	return nil
}

// items prepares objs for sending, recording the objects that cannot be
// (an unknown kind) in p.failed.
func (p *pass) items(objs []*unstructured.Unstructured) []*item {
	items := make([]*item, 0, len(objs))
	for _, o := range objs {
		m, err := p.a.mapping(o.GroupVersionKind())
		if err != nil {
			p.failed = append(p.failed, &ObjectError{Ref: RefOf(o), Err: err})
			continue
		}
		obj, err := prepare(o)
		if err != nil {
			p.failed = append(p.failed, &ObjectError{Ref: RefOf(o), Err: err})
			continue
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			if obj.GetNamespace() == "" {
				obj.SetNamespace(p.a.opts.DefaultNamespace)
			}
		} else {
			obj.SetNamespace("")
		}
		items = append(items, &item{obj: obj, mapping: m})
	}
	return items
}

// findLive hands each item its live object carrying this config's labels,
// then finds the objects that exist without them (checkForeign).
func (p *pass) findLive(ctx context.Context, items []*item) error {
	t0 := time.Now()
	err := p.list(ctx, items, Selector(p.config), func(it *item, live *unstructured.Unstructured) { it.live = live })
	if err == nil {
		err = p.checkForeign(ctx, items)
	}
	p.a.log.Debug("listed live objects", zap.Int("objects", len(items)), zap.Duration("took", time.Since(t0)))
	return err
}

// list lists, once per resource and namespace, the objects matching selector
// and hands each item the live object of its name (nil when there is none).
func (p *pass) list(ctx context.Context, items []*item, selector string, set func(*item, *unstructured.Unstructured)) error {
	type key struct {
		gvr schema.GroupVersionResource
		ns  string
	}
	groups := map[key][]*item{}
	for _, it := range items {
		k := key{it.mapping.Resource, it.obj.GetNamespace()}
		groups[k] = append(groups[k], it)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.a.opts.Concurrency)
	for k, its := range groups {
		g.Go(func() error {
			list, err := p.a.resource(its[0].mapping, k.ns).List(gctx, metav1.ListOptions{LabelSelector: selector})
			if err != nil {
				return fmt.Errorf("listing %s in %q: %w", k.gvr.Resource, k.ns, err)
			}
			byName := make(map[string]*unstructured.Unstructured, len(list.Items))
			for i := range list.Items {
				byName[list.Items[i].GetName()] = &list.Items[i]
			}
			for _, it := range its {
				set(it, byName[it.obj.GetName()])
			}
			return nil
		})
	}
	return g.Wait()
}

// applyOne applies one object; it returns the result, the writes made and
// the failure.
func (p *pass) applyOne(ctx context.Context, it *item) (ObjectResult, int, *ObjectError) {
	ref := it.ref()
	ri := p.a.resource(it.mapping, it.obj.GetNamespace())
	if it.adopting {
		return p.takeOver(ctx, it, ri)
	}
	switch decide(it.obj, it.live) {
	case decideSkip:
		return ObjectResult{Ref: ref, Action: ActionUnchanged}, 0, nil
	case decideRecreate:
		return p.recreate(ctx, it, ri, 0)
	}
	got, err := ri.Apply(ctx, it.obj.GetName(), it.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err == nil {
		action := ActionConfigured
		if it.live == nil && onlyManager(got, FieldManager) {
			action = ActionCreated
		}
		return ObjectResult{Ref: ref, Action: action}, 1, nil
	}
	if fields := immutableFields(err); len(fields) > 0 {
		if isJob(it.obj) || p.force {
			return p.recreate(ctx, it, ri, 1)
		}
		return ObjectResult{}, 1, &ObjectError{Ref: ref, Fields: fields, Err: err}
	}
	if apierrors.IsNotFound(err) && it.obj.GetNamespace() != "" {
		return ObjectResult{}, 1, &ObjectError{Ref: ref, MissingNamespace: it.obj.GetNamespace(), Err: err}
	}
	return ObjectResult{}, 1, &ObjectError{Ref: ref, Err: err}
}

// recreate deletes the object, waits until it is gone and applies it again.
func (p *pass) recreate(ctx context.Context, it *item, ri dynamicResource, writes int) (ObjectResult, int, *ObjectError) {
	ref := it.ref()
	p.a.log.Info("recreating", zap.Stringer("object", ref))
	if err := deleteAndWait(ctx, ri, it.obj.GetName(), 2*time.Minute); err != nil {
		return ObjectResult{}, writes + 1, &ObjectError{Ref: ref, Err: fmt.Errorf("deleting to recreate: %w", err)}
	}
	if _, err := ri.Apply(ctx, it.obj.GetName(), it.obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return ObjectResult{}, writes + 2, &ObjectError{Ref: ref, Err: fmt.Errorf("recreating after delete: %w", err)}
	}
	return ObjectResult{Ref: ref, Action: ActionRecreated}, writes + 2, nil
}

// onlyManager reports whether every managedFields entry of u is manager's:
// true for an object the apply just created.
func onlyManager(u *unstructured.Unstructured, manager string) bool {
	if u == nil {
		return false
	}
	for _, mf := range u.GetManagedFields() {
		if mf.Manager != manager {
			return false
		}
	}
	return true
}
