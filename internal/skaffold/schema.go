package skaffold

import (
	"slices"

	"gopkg.in/yaml.v3"
)

// Skaffold is the part of a skaffold.yaml devloop reads, in the v4beta14
// shape (older forms are upgraded while reading).
type Skaffold struct {
	// File is the skaffold.yaml's name in messages.
	File string
	// Dir is the absolute directory the configuration's paths resolve against.
	Dir                        string
	APIVersion                 string
	Name                       string
	NameAt                     at
	Artifacts                  []Artifact
	Kustomize                  []Path
	KustomizeAt                at
	StatusCheckDeadlineSeconds int
	PortForward                []PortForward
	// Namespace is deploy.kubectl.defaultNamespace (v2: also
	// deploy.kustomize.defaultNamespace), templates expanded.
	Namespace   string
	NamespaceAt at
}

// Artifact is one build.artifacts item.
type Artifact struct {
	At         at
	Image      string
	Context    string
	ContextAt  at
	Dockerfile string
	Target     string
	BuildArgs  map[string]string
	CacheFrom  []string
	Platforms  []string
}

// Path is a path the configuration names, with where it is named.
type Path struct {
	At    at
	Value string
}

// PortForward is one portForward item.
type PortForward struct {
	At           at
	ResourceType string
	ResourceName string
	Namespace    string
	Port         int
	LocalPort    int
	Address      string
}

// Refusals of fields devloop does not honour, by the field's name; the
// message says what to use instead.
const (
	notJib              = "devloop does not build with Jib; use a Dockerfile (build.artifacts[].docker)"
	notBazel            = "devloop does not build with Bazel; use a Dockerfile (build.artifacts[].docker)"
	notBuildpk          = "devloop does not build with Cloud Native Buildpacks; use a Dockerfile (build.artifacts[].docker)"
	notKaniko           = "devloop builds with the local Docker engine's buildx, not in the cluster; remove build.cluster"
	notGCB              = "devloop builds with the local Docker engine's buildx, not on Google Cloud Build; remove build.googleCloudBuild"
	notYet              = "not read by devloop yet; "
	notRawYaml          = notYet + "list the files in a kustomization.yaml and use manifests.kustomize.paths"
	notHelm             = notYet + "write a devloop.yaml with deploy.helm"
	notHooks            = notYet + "write a devloop.yaml with hooks"
	notSync             = notYet + "write a devloop.yaml with build.artifacts[].sync"
	notTag              = "devloop tags every image with the digest of its inputs; remove tagPolicy"
	notTest             = "devloop does not run Skaffold's test phase; run the tests before devloop run"
	notVerify           = "devloop does not run Skaffold's verify phase; run the checks after devloop run"
	notKpt              = "devloop does not deploy with kpt; use manifests.kustomize.paths"
	notDocker           = "devloop does not run containers with docker run; deploy to the cluster with manifests.kustomize.paths"
	notCloudRun         = "devloop deploys to Kubernetes only; remove deploy.cloudrun"
	notLegacy           = "devloop does not read deploy.kubectl.manifests/deploy.kustomize flags; use manifests.kustomize.paths"
	notCustom           = notYet + "use a Dockerfile (build.artifacts[].docker)"
	notKo               = notYet + "use a Dockerfile (build.artifacts[].docker)"
	notRequiresArtifact = notYet + "build the base image in the same Dockerfile as a stage"
	notDockerOpt        = notYet + "write a devloop.yaml for this build option"
	notLocal            = "devloop builds locally and delivers images into the cluster itself; remove this field"
)

func (r *reader) config(n *yaml.Node, s *Skaffold, v version) {
	r.mapping(n, "", map[string]field{
		"apiVersion": {read: r.str(&s.APIVersion)},
		"kind": {read: func(n *yaml.Node, p string) {
			var k string
			r.str(&k)(n, p)
			if k != "Config" {
				r.errorf(n, p, "unsupported kind %q; expected Config", k)
			}
		}},
		"metadata": {read: func(n *yaml.Node, p string) {
			r.mapping(n, p, map[string]field{
				"name":        {read: func(n *yaml.Node, p string) { s.NameAt = r.nodeAt(n, p); r.str(&s.Name)(n, p) }},
				"labels":      {refuse: notYet + "remove metadata.labels"},
				"annotations": {refuse: notYet + "remove metadata.annotations"},
			})
		}},
		// requires is read by the graph of configurations.
		"requires":  {},
		"build":     {read: func(n *yaml.Node, p string) { r.build(n, p, s) }},
		"test":      {refuse: notTest},
		"verify":    {refuse: notVerify},
		"manifests": {read: func(n *yaml.Node, p string) { r.manifests(n, p, s) }},
		"deploy":    {read: func(n *yaml.Node, p string) { r.deploy(n, p, s, v) }},
		"portForward": {read: func(n *yaml.Node, p string) {
			r.sequence(n, p, func(n *yaml.Node, p string) { s.PortForward = append(s.PortForward, r.portForward(n, p)) })
		}},
		"resourceSelector": {refuse: notYet + "remove resourceSelector"},
		"customActions":    {refuse: "devloop does not run Skaffold's custom actions; remove customActions"},
		// profiles are read and applied by the graph of configurations.
		"profiles": {},
	})
}

func (r *reader) build(n *yaml.Node, path string, s *Skaffold) {
	r.mapping(n, path, map[string]field{
		"artifacts": {read: func(n *yaml.Node, p string) {
			r.sequence(n, p, func(n *yaml.Node, p string) { s.Artifacts = append(s.Artifacts, r.artifact(n, p)) })
		}},
		"insecureRegistries": {refuse: notYet + "remove build.insecureRegistries"},
		"tagPolicy":          {refuse: notTag},
		"platforms":          {refuse: notYet + "set platforms on each artifact in a devloop.yaml"},
		"local": {read: func(n *yaml.Node, p string) {
			var useBuildkit bool
			r.mapping(n, p, map[string]field{
				"push": {read: func(n *yaml.Node, p string) {
					var push bool
					r.boolean(&push)(n, p)
					if push {
						r.errorf(n, p, "%s", "devloop pushes only where the cluster needs it (a registry in devloop.yaml); remove build.local.push")
					}
				}},
				"useBuildkit": {read: func(n *yaml.Node, p string) {
					useBuildkit = true
					r.boolean(&useBuildkit)(n, p)
					if !useBuildkit {
						r.errorf(n, p, "%s", "devloop always builds with BuildKit (docker buildx); remove useBuildkit: false")
					}
				}},
				"concurrency":      {read: func(n *yaml.Node, p string) { var c int; r.integer(&c)(n, p) }},
				"tryImportMissing": {refuse: notLocal},
				"useDockerCLI":     {refuse: "devloop builds through the Docker engine's API with buildx; remove useDockerCLI"},
			})
		}},
		"googleCloudBuild": {refuse: notGCB},
		"cluster":          {refuse: notKaniko},
	})
}

func (r *reader) artifact(n *yaml.Node, path string) Artifact {
	a := Artifact{At: r.nodeAt(n, path), Context: "."}
	var hasBuilder bool
	r.mapping(n, path, map[string]field{
		"image":   {read: r.str(&a.Image)},
		"context": {read: func(n *yaml.Node, p string) { a.ContextAt = r.nodeAt(n, p); r.str(&a.Context)(n, p) }},
		"docker": {read: func(n *yaml.Node, p string) {
			hasBuilder = true
			r.mapping(n, p, map[string]field{
				"dockerfile": {read: r.str(&a.Dockerfile)},
				"target":     {read: r.str(&a.Target)},
				"buildArgs": {read: func(n *yaml.Node, p string) {
					r.strMap(&a.BuildArgs)(n, p)
					if n = deref(n); n != nil && n.Kind == yaml.MappingNode {
						for i := 0; i+1 < len(n.Content); i += 2 {
							k := n.Content[i].Value
							a.BuildArgs[k] = r.expand(n.Content[i+1], join(p, k), a.BuildArgs[k])
						}
					}
				}},
				"cacheFrom":  {read: r.strs(&a.CacheFrom)},
				"network":    {refuse: notDockerOpt},
				"addHost":    {refuse: notDockerOpt},
				"noCache":    {refuse: notDockerOpt},
				"pullParent": {refuse: notDockerOpt},
				"squash":     {refuse: notDockerOpt},
				"secrets":    {refuse: notDockerOpt},
				"ssh":        {refuse: notDockerOpt},
				"cliFlags":   {refuse: "devloop builds through the Docker engine's API; remove cliFlags"},
			})
		}},
		"platforms":   {read: r.strs(&a.Platforms)},
		"sync":        {refuse: notSync},
		"hooks":       {refuse: notHooks},
		"requires":    {refuse: notRequiresArtifact},
		"runtimeType": {refuse: "devloop does not debug containers; remove runtimeType"},
		"jib":         {refuse: notJib},
		"bazel":       {refuse: notBazel},
		"buildpacks":  {refuse: notBuildpk},
		"kaniko":      {refuse: notKaniko},
		"custom":      {refuse: notCustom},
		"ko":          {refuse: notKo},
	})
	_ = hasBuilder
	if a.Image == "" && len(r.errs) == 0 {
		r.errorf(n, join(path, "image"), "required; name the image as the manifests write it")
	}
	return a
}

func (r *reader) manifests(n *yaml.Node, path string, s *Skaffold) {
	r.mapping(n, path, map[string]field{
		"rawYaml": {refuse: notRawYaml},
		"kustomize": {read: func(n *yaml.Node, p string) {
			r.mapping(n, p, map[string]field{
				"paths":     {read: func(n *yaml.Node, p string) { r.kustomizePaths(n, p, s) }},
				"buildArgs": {refuse: notYet + "remove manifests.kustomize.buildArgs"},
			})
		}},
		"helm":      {refuse: notHelm},
		"kpt":       {refuse: notKpt},
		"hooks":     {refuse: notHooks},
		"transform": {refuse: "devloop does not run kpt functions; use a kustomize component"},
		"validate":  {refuse: "devloop does not run kpt validators; validate in a test before devloop run"},
	})
}

func (r *reader) deploy(n *yaml.Node, path string, s *Skaffold, v version) {
	fields := map[string]field{
		"kubectl": {read: func(n *yaml.Node, p string) {
			kf := map[string]field{
				"flags":            {refuse: "devloop applies server side through the API, not with kubectl; remove flags"},
				"defaultNamespace": {read: func(n *yaml.Node, p string) { r.namespace(n, p, s) }},
				"remoteManifests":  {refuse: notYet + "keep the manifests in the project"},
				"hooks":            {refuse: notHooks},
			}
			if v.legacy {
				kf["manifests"] = field{refuse: notRawYaml}
			}
			r.mapping(n, p, kf)
		}},
		"statusCheckDeadlineSeconds": {read: r.integer(&s.StatusCheckDeadlineSeconds)},
		"statusCheck": {read: func(n *yaml.Node, p string) {
			var b bool
			r.boolean(&b)(n, p)
			if !b {
				r.errorf(n, p, "%s", "devloop always waits for the rollout; remove statusCheck: false")
			}
		}},
		"helm":                          {refuse: notHelm},
		"kpt":                           {refuse: notKpt},
		"docker":                        {refuse: notDocker},
		"cloudrun":                      {refuse: notCloudRun},
		"kubeContext":                   {refuse: "pass --kube-context to devloop instead"},
		"logs":                          {refuse: notYet + "remove deploy.logs"},
		"tolerateFailuresUntilDeadline": {refuse: notYet + "remove tolerateFailuresUntilDeadline"},
		"transformableAllowList":        {refuse: notYet + "remove transformableAllowList"},
		"transformableDenyList":         {refuse: notYet + "remove transformableDenyList"},
	}
	if v.legacy {
		// skaffold/v2*: the manifests sat under the deployers.
		fields["kustomize"] = field{read: func(n *yaml.Node, p string) {
			r.mapping(n, p, map[string]field{
				"paths":            {read: func(n *yaml.Node, p string) { r.kustomizePaths(n, p, s) }},
				"flags":            {refuse: notLegacy},
				"buildArgs":        {refuse: notYet + "remove deploy.kustomize.buildArgs"},
				"defaultNamespace": {read: func(n *yaml.Node, p string) { r.namespace(n, p, s) }},
				"hooks":            {refuse: notHooks},
			})
		}}
	} else {
		fields["kustomize"] = field{refuse: "skaffold/v3 and later have no deploy.kustomize; name the directories in manifests.kustomize.paths (deploy.kubectl applies them)"}
	}
	r.mapping(n, path, fields)
}

func (r *reader) portForward(n *yaml.Node, path string) PortForward {
	pf := PortForward{At: r.nodeAt(n, path)}
	r.mapping(n, path, map[string]field{
		"resourceType": {read: r.str(&pf.ResourceType)},
		"resourceName": {read: r.str(&pf.ResourceName)},
		"namespace":    {read: r.str(&pf.Namespace)},
		"port":         {read: r.integer(&pf.Port)},
		"localPort":    {read: r.integer(&pf.LocalPort)},
		"address":      {read: r.str(&pf.Address)},
	})
	return pf
}

// namespace reads a deployer's defaultNamespace (a template).
func (r *reader) namespace(n *yaml.Node, path string, s *Skaffold) {
	var ns string
	r.str(&ns)(n, path)
	s.Namespace, s.NamespaceAt = r.expand(n, path, ns), r.nodeAt(n, path)
}

func (r *reader) kustomizePaths(n *yaml.Node, path string, s *Skaffold) {
	s.KustomizeAt = r.nodeAt(n, path)
	r.sequence(n, path, func(n *yaml.Node, p string) {
		var v string
		r.str(&v)(n, p)
		s.Kustomize = append(s.Kustomize, Path{At: r.nodeAt(n, p), Value: v})
	})
}

func sortStrings(s []string) { slices.Sort(s) }
