package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/devloop-dev/devloop/internal/deliver"
)

// clusterFlags say how images reach the cluster when detection should not
// decide; build, run and dev share them.
type clusterFlags struct {
	Delivery          string
	ContainerdAddress string
}

func (c *clusterFlags) registerCluster(cmd *cobra.Command) {
	names := make([]string, len(deliver.Deliveries))
	for i, d := range deliver.Deliveries {
		names[i] = string(d)
	}
	f := cmd.Flags()
	f.StringVar(&c.Delivery, "delivery", string(deliver.DeliveryAuto),
		"how images reach the cluster: "+strings.Join(names, ", ")+
			" (auto: from the cluster; import: into the nodes' containerd; registry: push to the configured or advertised registry; "+
			"engine: the cluster runs images from the engine devloop builds into)")
	f.StringVar(&c.ContainerdAddress, "containerd-address", "",
		"the nodes' containerd socket on this machine (a kubeadm or bare containerd node): import images there")
}

// override checks the flags and returns them for detection.
func (c *clusterFlags) override() (deliver.Override, error) {
	d := deliver.Delivery(c.Delivery)
	if c.ContainerdAddress != "" && (d == deliver.DeliveryEngine || d == deliver.DeliveryRegistry) {
		return deliver.Override{}, usageErrorf("--containerd-address imports into a containerd; it cannot go with --delivery %s", d)
	}
	for _, known := range deliver.Deliveries {
		if d == known {
			return deliver.Override{Delivery: d, ContainerdAddress: c.ContainerdAddress}, nil
		}
	}
	return deliver.Override{}, usageErrorf("--delivery %q: want one of %v", c.Delivery, deliver.Deliveries)
}
