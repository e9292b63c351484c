package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

// TestLoadBadInput covers every bad devloop.yaml of the reliability issue: each is an
// error with the file, line, column and what is expected.
func TestLoadBadInput(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want []wantError
	}{
		{"empty", "", []wantError{{1, 1, "the file is empty; expected a devloop configuration"}}},
		{"only comments", "# nothing\n", []wantError{{1, 1, "the file is empty"}}},
		{"not YAML", "apiVersion: x\nkind:\n\tname: y\n", []wantError{{3, 0, "not valid YAML: found character that cannot start any token"}}},
		{"not a mapping", "just some text\n", []wantError{{1, 1, "expected a devloop configuration starting with apiVersion: devloop.dev/v1alpha1 and kind: Config, got the string \"just some text\""}}},
		{"two documents", minimal + "---\nkind: Config\n", []wantError{{12, 1, "more than one YAML document; expected exactly one"}}},
		{"wrong apiVersion", strings.Replace(minimal, "devloop.dev/v1alpha1", "devloop.dev/v2", 1),
			[]wantError{{1, 13, `unsupported apiVersion "devloop.dev/v2"; expected devloop.dev/v1alpha1`}}},
		{"wrong kind", strings.Replace(minimal, "kind: Config", "kind: Deployment", 1),
			[]wantError{{2, 7, `unsupported kind "Deployment"; expected Config`}}},
		{"missing apiVersion and kind", strings.Replace(strings.Replace(minimal, "kind: Config\n", "", 1), "apiVersion: devloop.dev/v1alpha1\n", "", 1),
			[]wantError{{1, 1, `missing required field "apiVersion" in the top level`}, {1, 1, `missing required field "kind"`}}},
		{"unknown field", strings.Replace(minimal, "    - image: notes-web\n      context: web\n", "    - image: notes-web\n      context: web\n      imagee: x\n", 1),
			[]wantError{{9, 7, `unknown field "imagee" in build.artifacts[0] (did you mean "image"?); expected one of: image, context, dockerfile, target, buildArgs, platforms, cacheFrom, cacheTo, sync`}}},
		{"unknown top-level field", minimal + "deploi: {}\n", []wantError{{12, 1, `unknown field "deploi" in the top level (did you mean "deploy"?); expected one of: apiVersion, kind, metadata, build, deploy, portForward, registry, allowContexts, dev, profiles`}}},
		{"duplicated field", minimal + "registry: a.io\nregistry: b.io\n", []wantError{{13, 1, `duplicated field "registry" in the top level (first set at line 12:1)`}}},
		{"duplicated build arg", strings.Replace(minimal, "context: web\n", "context: web\n      buildArgs:\n        A: x\n        A: y\n", 1),
			[]wantError{{11, 9, `duplicated key "A" in build.artifacts[0].buildArgs`}}},
		{"list instead of mapping", strings.Replace(minimal, "metadata:\n  name: notes\n", "metadata: [notes]\n", 1),
			[]wantError{{3, 11, "metadata: expected a mapping with fields name, got a list"}}},
		{"string instead of list", strings.Replace(minimal, "build:\n", "build:\n  platforms: linux/amd64\n", 1),
			[]wantError{{6, 14, `build.platforms: expected a list, got the string "linux/amd64"`}}},
		{"integer instead of string", strings.Replace(minimal, "context: web", "context: 42", 1),
			[]wantError{{8, 16, "build.artifacts[0].context: expected a string, got the integer 42 (quote it if you mean the text)"}}},
		{"string instead of integer", minimal + "portForward:\n  - resource: service/web\n    port: eighty\n",
			[]wantError{{14, 11, `portForward[0].port: expected an integer, got the string "eighty"`}}},
		{"bad duration", minimal + "dev:\n  quietPeriod: soon\n",
			[]wantError{{13, 16, `dev.quietPeriod: expected a duration such as 5m, 30s or 80ms, got "soon"`}}},
		{"missing required field", strings.Replace(minimal, "      context: web\n", "", 1),
			[]wantError{{7, 7, `missing required field "context" in build.artifacts[0]`}}},
		{"empty required field", strings.Replace(minimal, "name: notes", "name:", 1),
			[]wantError{{4, 8, "metadata.name must not be empty"}}},
		{"missing deploy", strings.Split(minimal, "deploy:")[0],
			[]wantError{{1, 1, `missing required field "deploy" in the top level`}}},
		{"missing context directory", strings.Replace(minimal, "context: web", "context: webb", 1),
			[]wantError{{8, 16, "build.artifacts[0].context: the build context"}}},
		{"missing Dockerfile", strings.Replace(minimal, "context: web", "context: web\n      dockerfile: Dockerfile.dev", 1),
			[]wantError{{9, 19, "build.artifacts[0].dockerfile: the Dockerfile"}}},
		{"missing default Dockerfile", strings.Replace(minimal, "context: web", "context: k8s", 1),
			[]wantError{{7, 7, "build.artifacts[0].dockerfile: the Dockerfile"}}},
		{"missing kustomize path", strings.Replace(minimal, "overlays/dev", "overlays/qa", 1),
			[]wantError{{11, 11, "deploy.kustomize.path: the kustomize directory"}}},
		{"kustomize path without kustomization", strings.Replace(minimal, "overlays/dev", "overlays/empty", 1),
			[]wantError{{11, 11, "has no kustomization file; expected one of kustomization.yaml, kustomization.yml, Kustomization"}}},
		{"two artifacts with the same image", strings.Replace(minimal, "deploy:", "    - image: notes-web\n      context: api\ndeploy:", 1),
			[]wantError{{9, 14, `build.artifacts[1].image: "notes-web" is already built by build.artifacts[0]`}}},
		{"image with a tag", strings.Replace(minimal, "image: notes-web", "image: notes-web:v1", 1),
			[]wantError{{7, 14, `"notes-web:v1" has a tag`}}},
		{"image with upper case", strings.Replace(minimal, "image: notes-web", "image: Notes", 1),
			[]wantError{{7, 14, `"Notes" is not a valid image name`}}},
		{"name not a DNS label", strings.Replace(minimal, "name: notes", "name: My_Notes", 1),
			[]wantError{{4, 9, `metadata.name: "My_Notes" is not a DNS label`}}},
		{"zero status timeout", minimal + "  statusTimeout: 0s\n",
			[]wantError{{12, 18, "deploy.statusTimeout: expected a positive duration"}}},
		{"adopt not a boolean", minimal + "  adopt: yes\n",
			[]wantError{{12, 10, `deploy.adopt: expected true or false, got the string "yes"`}}},
		{"adopt quoted", minimal + "  adopt: \"true\"\n",
			[]wantError{{12, 10, `deploy.adopt: expected true or false, got the string "true"`}}},
		{"adopt a list in a profile", minimal + "profiles:\n  - name: prod\n    deploy:\n      adopt: [true]\n",
			[]wantError{{15, 14, `profiles[0].deploy.adopt: expected true or false, got a list`}}},
		{"negative quiet period", minimal + "dev:\n  quietPeriod: -1s\n",
			[]wantError{{13, 16, "dev.quietPeriod: expected a positive duration"}}},
		{"bad port-forwards", minimal + "portForward:\n  - resource: ingress/web\n    port: 70000\n    localPort: 0\n    address: everywhere\n",
			[]wantError{{13, 15, `"ingress/web" is not a resource; expected KIND/NAME with KIND one of service, deployment, statefulset, pod`},
				{14, 11, "portForward[0].port: 70000 is not a port; expected 1-65535"},
				{15, 16, "portForward[0].localPort: 0 is not a port"},
				{16, 14, `"everywhere" is not an IP address`}}},
		{"port-forward without port", minimal + "portForward:\n  - resource: service/web\n",
			[]wantError{{13, 5, `missing required field "port" in portForward[0]`}}},
		{"bad sync rules", strings.Replace(minimal, "context: web", "context: web\n      sync:\n        - src: \"app/[.py\"\n          dest: code\n        - src: /abs/*.py\n          dest: /code", 1),
			[]wantError{{10, 16, `"app/[.py" is not a valid glob`}, {11, 17, `build.artifacts[0].sync[0].dest: "code" is not absolute`}, {12, 16, `"/abs/*.py" is absolute`}}},
		{"bad sync run", strings.Replace(minimal, "context: web", "context: web\n      sync:\n        - src: \"**/*.go\"\n          dest: /app/\n          run: {dir: ../up, env: {\"A=B\": x}}\n        - src: \"**/*.go\"\n          dest: bin/web\n          run: {command: [go, build], dir: ../up, timeout: -1s}", 1),
			[]wantError{{12, 16, `build.artifacts[0].sync[0].run: expected run.command`},
				{14, 17, `build.artifacts[0].sync[1].dest: "bin/web" is not absolute; expected the path in the container of the run command's output`},
				{15, 44, `build.artifacts[0].sync[1].run.dir: "../up" must be relative to the build context and inside it`},
				{15, 60, `build.artifacts[0].sync[1].run.timeout: -1s is negative`}}},
		{"sync restart not a boolean", strings.Replace(minimal, "context: web", "context: web\n      sync:\n        - src: x\n          dest: /x\n          restart: yes please", 1),
			[]wantError{{12, 20, `build.artifacts[0].sync[0].restart: expected true or false, got the string "yes please"`}}},
		{"unknown debug runtime", strings.Replace(minimal, "context: web", "context: web\n      debug: {runtime: java}", 1),
			[]wantError{{9, 24, `build.artifacts[0].debug.runtime: unknown debug runtime "java" (known: go, python, nodejs)`}}},
		{"bad platform", strings.Replace(minimal, "build:\n", "build:\n  platforms: [amd64]\n", 1),
			[]wantError{{6, 15, `build.platforms[0]: "amd64" is not a platform`}}},
		{"bad registry", minimal + "registry: https://registry.example.com\n",
			[]wantError{{12, 11, `registry: "https://registry.example.com" is not a registry`}}},
		{"several errors at once", strings.Replace(minimal, "kind: Config", "kind: Config\nfoo: 1", 1) + "bar: 2\n",
			[]wantError{{3, 1, `unknown field "foo"`}, {13, 1, `unknown field "bar"`}}},
		{"duplicated profile names", minimal + "profiles:\n  - name: prod\n  - name: prod\n",
			[]wantError{{14, 11, `duplicated profile name "prod" (first declared at line 13:11)`}}},
		{"bad activation regexp", minimal + "profiles:\n  - name: prod\n    activation:\n      kubeContext: \"prod-(\"\n",
			[]wantError{{15, 20, `profiles[0].activation.kubeContext: invalid regular expression "prod-("`}}},
		{"unknown field in a profile", minimal + "profiles:\n  - name: prod\n    deploy:\n      kustomise: {}\n",
			[]wantError{{15, 7, `unknown field "kustomise" in profiles[0].deploy (did you mean "kustomize"?); expected one of: kustomize, helm, namespace, statusTimeout, hooks, adopt`}}},
		{"wrong type in a profile", minimal + "profiles:\n  - name: prod\n    allowContexts: prod-eu\n",
			[]wantError{{14, 20, `profiles[0].allowContexts: expected a list`}}},
		{"profile without a name", minimal + "profiles:\n  - activation: {kubeContext: x}\n",
			[]wantError{{13, 5, `missing required field "name" in profiles[0]`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(project(t, tt.cfg), Options{})
			checkErrors(t, err, tt.want)
		})
	}
}

// TestLoadAliasBomb checks that aliases cannot make decoding explode: lists of aliases
// of lists of aliases, in shapes the schema accepts, stop at the node budget.
func TestLoadAliasBomb(t *testing.T) {
	syncs := "x-syncs: &s [" + strings.TrimSuffix(strings.Repeat("{src: a, dest: /a}, ", 100), ", ") + "]\n"
	arts := "x-arts: &a [" + strings.TrimSuffix(strings.Repeat("{image: x, context: web, sync: *s}, ", 100), ", ") + "]\n"
	profs := "profiles: [" + strings.TrimSuffix(strings.Repeat("{name: p, build: {artifacts: *a}}, ", 50), ", ") + "]\n"
	_, err := Load(project(t, minimal+syncs+arts+profs), Options{})
	errs := configErrors(t, err)
	if !strings.Contains(errs.Error(), "expands too many aliases") {
		t.Errorf("got %v, want the alias budget error", errs)
	}
}

// TestLoadCapsErrors checks that a file with very many mistakes gives a bounded list.
func TestLoadCapsErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal)
	for i := range 500 {
		fmt.Fprintf(&b, "unknown%d: x\n", i)
	}
	_, err := Load(project(t, b.String()), Options{})
	errs := configErrors(t, err)
	if len(errs) != maxErrors+1 || !strings.Contains(errs[maxErrors].Msg, "too many errors") {
		t.Errorf("got %d errors, want %d and a last one saying there are too many", len(errs), maxErrors+1)
	}
}

func asList(err error, target *ErrorList) bool { return errors.As(err, target) }
