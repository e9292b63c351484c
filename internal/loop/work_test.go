package loop

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/devloop-dev/devloop/internal/plan"
)

func TestWorkMergeAndWeight(t *testing.T) {
	var w work
	if !w.empty() {
		t.Fatal("zero work is not empty")
	}
	w.merge(work{syncs: []plan.ArtifactPlan{{Image: "web"}}, changes: []string{"a.py"}})
	if w.empty() || w.heavy() {
		t.Fatalf("a sync alone is light work: %+v", w)
	}
	w.merge(work{rebuild: map[string]bool{"store": true}, changes: []string{"main.go"}})
	w.merge(work{redeploy: true})
	if !w.heavy() || !w.rebuild["store"] || !w.redeploy || len(w.syncs) != 1 || len(w.changes) != 2 {
		t.Fatalf("merged work: %+v", w)
	}
	w.merge(work{reload: true})
	if !w.reload {
		t.Fatal("reload lost in merge")
	}
}

func TestIsTransient(t *testing.T) {
	gr := schema.GroupResource{Resource: "pods"}
	cases := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("build failed: syntax error"), false},
		{fmt.Errorf("applying: %w", syscall.ECONNREFUSED), true},
		{apierrors.NewServiceUnavailable("down"), true},
		{apierrors.NewTimeoutError("slow", 1), true},
		{apierrors.NewInvalid(schema.GroupKind{Kind: "Deployment"}, "web", nil), false},
		{apierrors.NewNotFound(gr, "x"), false},
	}
	for _, c := range cases {
		if got := isTransient(c.err); got != c.want {
			t.Errorf("isTransient(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
