package kube

import (
	"errors"
	"net"
	"strings"
	"testing"
)

func ifaces(t *testing.T, spec ...string) []Interface {
	t.Helper()
	var out []Interface
	for _, s := range spec {
		name, cidr, _ := strings.Cut(s, " ")
		ip, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip // the interface's own address, as net.Interface.Addrs gives it
		out = append(out, Interface{Name: name, Nets: []*net.IPNet{n}})
	}
	return out
}

func TestCheckAllowed(t *testing.T) {
	// A laptop: loopback, Wi-Fi on a LAN, a VPN, Docker's default bridge,
	// kind's network and minikube's.
	machine := ifaces(t, "lo 127.0.0.1/8", "wlan0 192.168.1.23/24", "wg0 10.8.0.2/24",
		"docker0 172.17.0.1/16", "br-0a1b2c3d4e5f 172.18.0.1/16", "br-6a7b8c9d0e1f 192.168.49.1/24")
	cases := []struct {
		name, context, server string
		allowed               []string
		ok                    bool
		reason                string // part of the reason (allowed) or of the refusal
	}{
		{"loopback v4", "devloop-env", "https://127.0.0.1:6443", nil, true, "loopback"},
		{"loopback v6", "x", "https://[::1]:6443", nil, true, "loopback"},
		{"localhost", "x", "https://localhost:6443", nil, true, "this machine"},
		{"k3d's unspecified address", "k3d-mycluster", "https://0.0.0.0:41234", nil, true, "unspecified"},
		{"docker desktop", "docker-desktop", "https://kubernetes.docker.internal:6443", nil, true, "this machine"},
		{"k3d through host.docker.internal", "k3d-dev", "https://host.docker.internal:6550", nil, true, "this machine"},
		{"this machine's own LAN address (microk8s)", "microk8s", "https://192.168.1.23:16443", nil, true, "wlan0"},
		{"kind on its docker network", "kind-dev", "https://172.18.0.2:6443", nil, true, "br-0a1b2c3d4e5f"},
		{"k3d on docker0", "k3d-dev", "https://172.17.0.3:6443", nil, true, "docker0"},
		{"minikube's docker driver", "minikube", "https://192.168.49.2:8443", nil, true, "container network"},
		{"kind name, TEST-NET server", "kind-something", "https://192.0.2.1:6443", nil, false, "192.0.2.1 is neither"},
		{"kind name, a LAN server", "kind-dev", "https://192.168.1.50:6443", nil, false, "named like a local cluster tool's"},
		{"kind name, a VPN server", "k3d-shared", "https://10.8.0.7:6443", nil, false, "10.8.0.7"},
		{"minikube name, a Docker-like address not on this machine", "minikube", "https://172.19.0.2:8443", nil, false, "172.19.0.2"},
		{"kind name, a host name", "kind-dev", "https://kind.example.com:6443", nil, false, "kind.example.com"},
		{"kind name, remote but allowed", "kind-something", "https://192.0.2.1:6443", []string{"kind-something"}, true, "allowContexts"},
		{"remote refused", "prod-eu", "https://prod.example.com", nil, false, "does not look like a local cluster"},
		{"remote allowed", "prod-eu", "https://prod.example.com", []string{"prod-eu"}, true, "allowContexts"},
		{"other allowed does not count", "prod-us", "https://prod.example.com", []string{"prod-eu"}, false, ""},
		{"name tricks do not count", "my-kind-cluster", "https://172.18.0.2", nil, false, ""},
		{"a docker-like address without a local tool's name", "team", "https://172.18.0.2:6443", nil, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			why, err := checkAllowed(c.context, c.server, c.allowed, machine)
			if c.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if !strings.Contains(why, c.reason) {
					t.Errorf("reason %q, want it to say %q", why, c.reason)
				}
				return
			}
			var na *NotAllowedError
			if !errors.As(err, &na) {
				t.Fatalf("want NotAllowedError, got %v (%s)", err, why)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.reason) || !strings.Contains(msg, c.server) || !strings.Contains(msg, "--allow-context "+c.context) {
				t.Errorf("refusal %q must name the server, say %q and how to allow the context", msg, c.reason)
			}
		})
	}
}

func TestContainerNetworkNames(t *testing.T) {
	for name, want := range map[string]bool{
		"docker0": true, "br-0a1b2c3d4e5f": true, "virbr0": true, "vboxnet0": true, "bridge100": true, "podman0": true,
		"eth0": false, "wlan0": false, "en0": false, "wg0": false, "tun0": false, "tailscale0": false, "lo": false,
	} {
		if got := containerNetwork(name); got != want {
			t.Errorf("containerNetwork(%q) = %v, want %v", name, got, want)
		}
	}
}
