//go:build tools

// Package tools pins the etcd that the kind node image ships as
// registry.k8s.io/etcd:3.6.5-0 (kubeadm v1.34 picks its flags from that tag).
// A module of its own so that the product's go.mod never depends on etcd.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
