package deploy

import (
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// ApplierOptions configures an Applier.
type ApplierOptions struct {
	// DefaultNamespace is used for namespaced objects that name none
	// (usually the kube context's namespace); default "default".
	DefaultNamespace string
	// InventoryNamespace, when set, holds the inventory ConfigMaps. Empty:
	// the namespace of the applied namespaced objects when they share one,
	// else DefaultNamespace (see InventoryNamespace); Delete then needs
	// DeleteOptions.InventoryNamespace.
	InventoryNamespace string
	// Concurrency bounds the objects applied at once; default 8.
	Concurrency int
}

// Applier applies, prunes and deletes devloop's objects with server-side apply.
type Applier struct {
	dyn    dynamic.Interface
	disc   discovery.DiscoveryInterface
	mapper meta.ResettableRESTMapper
	log    *zap.Logger
	opts   ApplierOptions

	mu  sync.Mutex
	inv map[string]*inventory // inventories read or written by this Applier, by config

	shared sharedCheck // namespaces found free of other configs
}

// ApplyOptions modifies one Apply.
type ApplyOptions struct {
	// Force deletes and recreates objects whose immutable fields changed.
	Force bool
	// ConfigName is the config applying; default: the objects' LabelConfig.
	ConfigName string
	// Adopt takes over objects of the manifests that exist without this
	// config's labels (ForeignError otherwise); they are marked adopted and
	// never deleted by devloop.
	Adopt bool
}

// ObjectResult is what happened to one object.
type ObjectResult struct {
	Ref    ObjectRef `json:"ref"`
	Action Action    `json:"action"`
	// Previous is, for an object adopted this pass, the object it replaced
	// (without managedFields and status, Secret values redacted).
	Previous map[string]any `json:"previous,omitempty"`
	// Changes are, for an object adopted this pass, the fields the adoption
	// removed, added or changed.
	Changes []FieldChange `json:"changes,omitempty"`
}

// ApplyResult is the outcome of one Apply.
type ApplyResult struct {
	Objects []ObjectResult
	// Writes counts the API writes (apply patches, deletes) made, inventory included.
	Writes int
	// Duration is the time Apply took.
	Duration time.Duration
}

// Changed reports whether anything was written to an object.
func (r ApplyResult) Changed() bool {
	for _, o := range r.Objects {
		if o.Action != ActionUnchanged {
			return true
		}
	}
	return false
}

// Unchanged counts the objects the apply left as they were.
func (r ApplyResult) Unchanged() int {
	n := 0
	for _, o := range r.Objects {
		if o.Action == ActionUnchanged {
			n++
		}
	}
	return n
}

// NewApplier returns an Applier over the given clients. disc may be nil if
// Delete is never called.
func NewApplier(dyn dynamic.Interface, disc discovery.DiscoveryInterface, mapper meta.ResettableRESTMapper, log *zap.Logger, opts ApplierOptions) *Applier {
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = "default"
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	return &Applier{dyn: dyn, disc: disc, mapper: mapper, log: log, opts: opts, inv: map[string]*inventory{}}
}

// NewApplierForConfig builds the clients from a rest.Config (raising the
// default client-side rate limits, which would serialise a pass).
func NewApplierForConfig(cfg *rest.Config, log *zap.Logger, opts ApplierOptions) (*Applier, error) {
	c := rest.CopyConfig(cfg)
	if c.QPS == 0 {
		c.QPS = 100
	}
	if c.Burst == 0 {
		c.Burst = 200
	}
	dyn, err := dynamic.NewForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("creating the dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(c)
	if err != nil {
		return nil, fmt.Errorf("creating the discovery client: %w", err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return NewApplier(dyn, disc, mapper, log, opts), nil
}

// mapping resolves a GVK, refreshing discovery once when the kind is unknown
// (a CRD applied a moment ago).
func (a *Applier) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("finding the API resource of %s: %w", gvk, err)
	}
	return m, nil
}

// resource returns the client for obj's kind and namespace.
func (a *Applier) resource(m *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(namespace)
	}
	return a.dyn.Resource(m.Resource)
}

// item is one object of a pass, ready to send.
type item struct {
	obj     *unstructured.Unstructured // prepared: hash annotations, namespace set
	mapping *meta.RESTMapping
	live    *unstructured.Unstructured
	// adopting: the object exists without this config's labels and is
	// taken over by this pass; replaced is that live object.
	adopting bool
	replaced *unstructured.Unstructured
}

func (it *item) ref() ObjectRef { return RefOf(it.obj) }

// configName finds the config of a pass.
func configName(objs []*unstructured.Unstructured, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	name := ""
	for _, o := range objs {
		n := o.GetLabels()[LabelConfig]
		if n == "" {
			return "", fmt.Errorf("%s has no %s label (render it with deploy.Render)", RefOf(o), LabelConfig)
		}
		if name != "" && n != name {
			return "", fmt.Errorf("objects of two configs in one pass: %q and %q", name, n)
		}
		name = n
	}
	return name, nil
}
