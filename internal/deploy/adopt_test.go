package deploy

import (
	"strings"
	"testing"
)

func TestInventoryNamespace(t *testing.T) {
	cases := []struct {
		name       string
		namespaces []string
		want       string
	}{
		{"one namespace", []string{"app", "app", ""}, "app"},
		{"several namespaces: the fallback", []string{"app", "db"}, "ctx-ns"},
		{"only cluster-scoped objects: the fallback", []string{"", ""}, "ctx-ns"},
		{"nothing: the fallback", nil, "ctx-ns"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := InventoryNamespace(c.namespaces, "ctx-ns"); got != c.want {
				t.Errorf("InventoryNamespace(%v) = %q, want %q", c.namespaces, got, c.want)
			}
		})
	}
}

func TestAppNamespaces(t *testing.T) {
	objs := parse(t, "app", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: NS}\n---\n"+
		"apiVersion: v1\nkind: Service\nmetadata: {name: b}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: NS}\n")
	got := AppNamespaces(objs, StaticScope(objs, nil), "ctx-ns")
	if strings.Join(got, ",") != "app,ctx-ns" {
		t.Errorf("AppNamespaces = %v, want [app ctx-ns] (the Namespace is cluster-scoped; the Service names none)", got)
	}
}

func TestForeignErrorSaysWhatToDo(t *testing.T) {
	for _, e := range []*ForeignError{{Config: "notes"}, {Config: "notes", OtherConfig: "shop"}} {
		msg := e.Error()
		for _, want := range []string{"--adopt", "deploy.adopt: true", "never deleted"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q does not say %q", msg, want)
			}
		}
		if e.OtherConfig != "" && !strings.Contains(msg, `devloop config "shop"`) {
			t.Errorf("%q does not name the other config", msg)
		}
		if e.OtherConfig == "" && !strings.Contains(msg, "devloop.dev/config=notes") {
			t.Errorf("%q does not name the labels it lacks", msg)
		}
	}
}

func TestInventoryMergeAndCompareAdopted(t *testing.T) {
	cm := ObjectRef{Version: "v1", Kind: "ConfigMap", Namespace: "app", Name: "handmade"}
	a := &inventory{Objects: []ObjectRef{cm}}
	b := a.clone()
	b.merge(&inventory{Adopted: []ObjectRef{cm}})
	if !b.adopted(cm) || len(b.Objects) != 1 {
		t.Fatalf("merge: %+v", b)
	}
	if sameInventory(a, b) {
		t.Error("inventories differing only by an adoption compare equal")
	}
	c := b.clone()
	c.merge(b)
	if !sameInventory(b, c) {
		t.Error("merging an inventory into itself changed it")
	}
}
