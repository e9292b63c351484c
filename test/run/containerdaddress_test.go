package runtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/devloop-dev/devloop/internal/testenv"
)

// --containerd-address names a node's containerd on this machine (a kubeadm
// or bare containerd node): detection takes it over everything else, and the
// images land in that containerd, where ctr lists them.
func TestContainerdAddressFlag(t *testing.T) {
	env := testenv.Require(t)
	dir, name := testenv.CopyExample(t, "notes")
	edit(t, dir, "web/version.go", `"v1"`, `"v-addr-`+name+`"`)
	sock := strings.TrimPrefix(env.ContainerdSocket, "unix://")
	r := devloop(t, dir, nil, 10*time.Minute, "build", "--containerd-address", "unix://"+sock, "-o", "json")
	evs := parseEvents(t, r.Stdout)
	if r.Code != 0 {
		t.Fatalf("devloop build exited %d:%s\n%s", r.Code, dump(evs), tail(r.Stderr, 30))
	}
	det := filter(evs, "detect", "done")
	if len(det) != 1 || !strings.Contains(det[0].Message, "--containerd-address "+sock) {
		t.Fatalf("detect:%s; want the flag named as the reason", dump(det))
	}
	var ref string
	for _, e := range filter(evs, "deliver", "") {
		if e.Artifact == "notes-web" && e.Image != "" {
			ref = e.Image
		}
	}
	if ref == "" {
		t.Fatalf("no delivery of notes-web:%s", dump(evs))
	}
	out := testenv.MustRun(t, env.Command(context.Background(), "ctr", "--address", sock, "-n", "k8s.io", "images", "ls", "-q"))
	if !strings.Contains(out, "docker.io/library/"+ref+"\n") {
		t.Fatalf("%s is not in the containerd at %s", ref, sock)
	}
	if bad := devloop(t, dir, nil, time.Minute, "build", "--containerd-address", "/x.sock", "--delivery", "engine"); bad.Code != 2 || !strings.Contains(bad.Stderr, "cannot go with") {
		t.Errorf("--containerd-address with --delivery engine exited %d: %s", bad.Code, bad.Stderr)
	}
}
