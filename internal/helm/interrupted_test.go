package helm

import (
	"testing"

	"go.uber.org/zap"
	"helm.sh/helm/v4/pkg/action"
	rcommon "helm.sh/helm/v4/pkg/release/common"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// A revision left pending by a killed devloop is marked failed, so that the
// next upgrade starts from the last deployed one instead of being refused
// as "another operation is in progress"; settled revisions are left alone.
func TestFailInterruptedRevisions(t *testing.T) {
	ac := &action.Configuration{Releases: storage.Init(driver.NewMemory())}
	for v, st := range map[int]rcommon.Status{1: rcommon.StatusSuperseded, 2: rcommon.StatusDeployed, 3: rcommon.StatusPendingUpgrade} {
		if err := ac.Releases.Create(&release.Release{Name: "notes", Namespace: "notes", Version: v, Info: &release.Info{Status: st}}); err != nil {
			t.Fatal(err)
		}
	}
	c := &Client{log: zap.NewNop()}
	if err := c.failInterrupted(ac, "notes"); err != nil {
		t.Fatal(err)
	}
	want := map[int]rcommon.Status{1: rcommon.StatusSuperseded, 2: rcommon.StatusDeployed, 3: rcommon.StatusFailed}
	for v, st := range want {
		x, err := ac.Releases.Get("notes", v)
		if err != nil {
			t.Fatal(err)
		}
		r, err := v1(x)
		if err != nil {
			t.Fatal(err)
		}
		if r.Info.Status != st {
			t.Errorf("revision %d is %s, want %s", v, r.Info.Status, st)
		}
	}
	if pending, err := ac.Releases.ListReleases(); err != nil {
		t.Fatal(err)
	} else {
		for _, x := range pending {
			if r, _ := v1(x); r != nil && r.Info.Status.IsPending() {
				t.Errorf("revision %d still %s", r.Version, r.Info.Status)
			}
		}
	}
	if err := c.failInterrupted(ac, "absent"); err != nil {
		t.Errorf("a release that does not exist: %v", err)
	}
}
