package docker

import (
	"testing"

	"github.com/docker/docker/api/types/system"
)

func TestStoreOf(t *testing.T) {
	c8d := StoreOf(system.Info{Driver: "overlayfs", ServerVersion: "26.1.5", DriverStatus: [][2]string{{"driver-type", "io.containerd.snapshotter.v1"}}})
	if !c8d.Containerd || c8d.String() != "the containerd image store (snapshotter overlayfs) of Docker Engine 26.1.5" {
		t.Fatalf("containerd store: %+v %q", c8d, c8d)
	}
	graph := StoreOf(system.Info{Driver: "overlay2", ServerVersion: "20.10.24", DriverStatus: [][2]string{{"Backing Filesystem", "extfs"}}})
	if graph.Containerd || graph.String() != "the graph-driver image store (storage driver overlay2) of Docker Engine 20.10.24" {
		t.Fatalf("graph-driver store: %+v %q", graph, graph)
	}
}
