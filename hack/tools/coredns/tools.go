//go:build tools

// Package tools pins the CoreDNS that serves cluster DNS in the test environment.
package tools

import _ "github.com/coredns/coredns"
