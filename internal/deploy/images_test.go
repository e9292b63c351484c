package deploy

import "testing"

func TestImageName(t *testing.T) {
	for in, want := range map[string]string{
		"notes-web":                         "notes-web",
		"notes-web:latest":                  "notes-web",
		"docker.io/library/notes-web:1":     "notes-web",
		"index.docker.io/library/notes-web": "notes-web",
		"docker.io/team/notes-web":          "team/notes-web",
		"notes-web@sha256:abc":              "notes-web",
		"notes-web:1@sha256:abc":            "notes-web",
		"127.0.0.1:5000/notes-web:3f":       "127.0.0.1:5000/notes-web",
		"127.0.0.1:5000/notes-web":          "127.0.0.1:5000/notes-web",
		"localhost:5000/a/b@sha256:1":       "localhost:5000/a/b",
		"":                                  "",
	} {
		if got := ImageName(in); got != want {
			t.Errorf("ImageName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRewriteImage(t *testing.T) {
	images := map[string]string{"notes-web": "notes-web:3f2a", "docker.io/library/api:1": "127.0.0.1:5000/api@sha256:1"}
	for in, want := range map[string]string{
		"notes-web":                     "notes-web:3f2a",
		"notes-web:latest":              "notes-web:3f2a",
		"docker.io/library/notes-web:1": "notes-web:3f2a",
		"notes-web-2":                   "notes-web-2",
		"other/notes-web":               "other/notes-web",
		"api":                           "127.0.0.1:5000/api@sha256:1",
		"busybox":                       "busybox",
	} {
		if got := RewriteImage(in, images); got != want {
			t.Errorf("RewriteImage(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRewriteImage(f *testing.F) {
	for _, s := range []string{"notes-web", "notes-web:latest", "docker.io/library/notes-web:1", "a@b:c", ":", "@", "127.0.0.1:5000/x@sha256:1", "x/y:z/w"} {
		f.Add(s, "notes-web", "notes-web:3f2a")
	}
	f.Fuzz(func(t *testing.T, ref, name, to string) {
		images := map[string]string{name: to}
		once := RewriteImage(ref, images)
		if twice := RewriteImage(once, images); twice != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", ref, once, twice)
		}
		if once != ref && once != to {
			t.Fatalf("rewrote %q to %q, neither the input nor the mapping", ref, once)
		}
		if ImageName(ImageName(ref)) != ImageName(ref) {
			t.Fatalf("ImageName not idempotent on %q", ref)
		}
	})
}
