package deploy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ScopeFunc tells whether objects of a kind are namespaced.
type ScopeFunc func(gvk schema.GroupVersionKind) (namespaced bool, err error)

// ScopeFromMapper answers from a RESTMapper (usually discovery-backed).
func ScopeFromMapper(m meta.RESTMapper) ScopeFunc {
	return func(gvk schema.GroupVersionKind) (bool, error) {
		mapping, err := m.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return false, fmt.Errorf("finding the scope of %s: %w", gvk.Kind, err)
		}
		return mapping.Scope.Name() == meta.RESTScopeNameNamespace, nil
	}
}

// clusterScoped lists built-in cluster-scoped kinds by group/kind.
var clusterScoped = map[schema.GroupKind]bool{
	{Kind: "Namespace"}:        true,
	{Kind: "Node"}:             true,
	{Kind: "PersistentVolume"}: true,
	{Kind: "ComponentStatus"}:  true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                                        true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                               true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:                 true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                       true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:       true,
}

// namespacedBuiltin lists the groups whose other kinds are all namespaced.
var namespacedGroups = map[string]bool{
	"": true, "apps": true, "batch": true, "autoscaling": true, "policy": true,
	"networking.k8s.io": true, "rbac.authorization.k8s.io": true, "discovery.k8s.io": true,
	"coordination.k8s.io": true, "events.k8s.io": true, "storage.k8s.io": true,
}

// StaticScope knows the built-in kinds and the CRDs among objs, and asks
// fallback (if not nil) about the rest.
func StaticScope(objs []*unstructured.Unstructured, fallback ScopeFunc) ScopeFunc {
	crds := map[schema.GroupKind]bool{}
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		crds[schema.GroupKind{Group: group, Kind: kind}] = scope == "Namespaced"
	}
	return func(gvk schema.GroupVersionKind) (bool, error) {
		gk := gvk.GroupKind()
		if clusterScoped[gk] {
			return false, nil
		}
		if ns, ok := crds[gk]; ok {
			return ns, nil
		}
		if namespacedGroups[gk.Group] {
			return true, nil
		}
		if fallback != nil {
			return fallback(gvk)
		}
		return false, fmt.Errorf("cannot tell whether %s is namespaced without a cluster", gvk.String())
	}
}
