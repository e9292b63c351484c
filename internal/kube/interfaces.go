package kube

import (
	"net"
	"strings"
)

// Interface is one network interface of this machine with its subnets.
type Interface struct {
	Name string
	Nets []*net.IPNet
}

// Interfaces lists this machine's network interfaces that are up, with
// their addresses; an error reading them gives none (nothing is then local
// by address but loopback).
func Interfaces() []Interface {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	out := make([]Interface, 0, len(ifs))
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		it := Interface{Name: i.Name}
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				it.Nets = append(it.Nets, n)
			}
		}
		out = append(out, it)
	}
	return out
}

// containerNetworkPrefixes name the interfaces of networks whose other
// addresses are containers or VMs on this machine: Docker's default bridge
// and user networks (kind's, minikube's docker driver), Podman's, libvirt's
// (minikube kvm2), VirtualBox host-only networks, macOS vmnet bridges
// (minikube hyperkit/qemu, Lima). Never a LAN's or a VPN's interface.
var containerNetworkPrefixes = []string{"docker", "br-", "podman", "cni-", "virbr", "vboxnet", "vmnet", "bridge"}

func containerNetwork(name string) bool {
	for _, p := range containerNetworkPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
