// Package config loads devloop.yaml (apiVersion devloop.dev/v1alpha1, kind Config).
//
// Decoding is strict: unknown fields, wrong types, duplicated keys, missing required
// fields, a wrong apiVersion or kind are errors that name the file, line and column.
// Validation runs at load time with no cluster or engine: directories and Dockerfiles
// must exist, names and ports must be valid. Profiles are merged at the YAML node level
// before one strict decode, so every effective value keeps its line:column, and the
// origin of each value is recorded (see Config.Origin and Render).
//
// Every error returned by Load and Parse is an ErrorList of *Error (a file that cannot
// be read is a single *Error wrapping the cause). A caller maps any configuration error
// to its exit code with errors.As:
//
//	var cerr *config.Error
//	if errors.As(err, &cerr) { return 2 }
package config

import "time"

const (
	// APIVersion is the only apiVersion this package accepts.
	APIVersion = "devloop.dev/v1alpha1"
	// Kind is the only kind this package accepts.
	Kind = "Config"
)

// Defaults applied after profiles are merged.
const (
	DefaultDockerfile    = "Dockerfile"
	DefaultStatusTimeout = 5 * time.Minute
	DefaultQuietPeriod   = 50 * time.Millisecond
	DefaultAddress       = "127.0.0.1"
)

// Config is a loaded devloop.yaml: the top level after the active profiles were merged,
// defaults applied and paths resolved.
type Config struct {
	APIVersion    string        `yaml:"apiVersion" devloop:"required"`
	Kind          string        `yaml:"kind" devloop:"required"`
	Metadata      Metadata      `yaml:"metadata" devloop:"required"`
	Build         Build         `yaml:"build"`
	Deploy        Deploy        `yaml:"deploy" devloop:"required"`
	PortForward   []PortForward `yaml:"portForward"`
	Registry      string        `yaml:"registry"`
	AllowContexts []string      `yaml:"allowContexts"`
	Dev           Dev           `yaml:"dev"`
	// Profiles are all profiles the file declares, active or not.
	Profiles []Profile `yaml:"profiles"`

	// File is the absolute path of the configuration file.
	File string `yaml:"-"`
	// Dir is the absolute directory relative paths resolve against.
	Dir string `yaml:"-"`
	// ActiveProfiles are the profiles merged into this configuration, in the order they
	// were applied, each with the reason it is active.
	ActiveProfiles []ActiveProfile `yaml:"-"`

	// display is the file name as given by the caller, used in messages.
	display string
	// origins records where each effective value came from, by path.
	origins map[string]Origin
}

// Metadata names the configuration.
type Metadata struct {
	// Name is a DNS label; devloop uses it in the labels of what it applies.
	Name string `yaml:"name" devloop:"required"`
}

// Build lists the images to build and how.
type Build struct {
	// Platforms for every artifact; empty means the cluster nodes' architectures.
	Platforms []string `yaml:"platforms"`
	// Builder is the buildx builder name; empty means the current builder.
	Builder   string     `yaml:"builder"`
	Artifacts []Artifact `yaml:"artifacts"`
}

// Artifact is one image built from a context directory.
type Artifact struct {
	// Image is the image name as the manifests write it, without tag or digest.
	Image string `yaml:"image" devloop:"required"`
	// Context is the build context directory, relative to devloop.yaml.
	Context string `yaml:"context" devloop:"required"`
	// Dockerfile is relative to the context (default Dockerfile).
	Dockerfile string            `yaml:"dockerfile"`
	Target     string            `yaml:"target"`
	BuildArgs  map[string]string `yaml:"buildArgs"`
	// Platforms overrides Build.Platforms for this artifact.
	Platforms []string `yaml:"platforms"`
	// CacheFrom and CacheTo are buildx --cache-from and --cache-to values.
	CacheFrom []string `yaml:"cacheFrom"`
	CacheTo   []string `yaml:"cacheTo"`
	// Sync rules copy matching files into running containers instead of rebuilding.
	Sync []SyncRule `yaml:"sync"`
	// Hooks run on this machine before and after the artifact's build; a
	// failing before hook fails the build.
	Hooks Hooks `yaml:"hooks"`
	// Debug tunes `devloop debug` for this artifact's containers.
	Debug ArtifactDebug `yaml:"debug"`

	// ContextDir is the absolute context directory.
	ContextDir string `yaml:"-"`
	// DockerfilePath is the absolute path of the Dockerfile.
	DockerfilePath string `yaml:"-"`
}

// ArtifactDebug tunes `devloop debug` for an artifact.
type ArtifactDebug struct {
	// Runtime names the runtime of the artifact's containers (go, python,
	// nodejs) where detection from the image cannot tell.
	Runtime string `yaml:"runtime"`
}

// SyncRule copies files matching Src (a glob relative to the context, with ** for any
// number of directories) into Dest, an absolute directory in the container. A file at
// context-relative path rel lands at path.Join(Dest, rel) (see Target).
type SyncRule struct {
	Src  string `yaml:"src" devloop:"required"`
	Dest string `yaml:"dest" devloop:"required"`
	// Hooks.After run in each synced container after a copy.
	Hooks SyncHooks `yaml:"hooks"`
	// Run, when its command is set, runs on this machine before the copy
	// (e.g. go build for the nodes' platform); the rule then copies the
	// command's output file, ${DEVLOOP_OUTPUT}, to Dest (the file's path in
	// the container), not the matched files. See sync.go.
	Run SyncRun `yaml:"run"`
	// Restart restarts the container's process after the copy, through
	// devloop's helper, which `devloop dev` (never `devloop run`) injects
	// into the artifact's pods; it needs nothing in the image.
	Restart bool `yaml:"restart"`
}

// SyncRun is the command of a sync rule run on this machine.
type SyncRun struct {
	Command []string `yaml:"command"`
	// Dir is relative to the build context (default: the context).
	Dir string `yaml:"dir"`
	// Env is added to devloop's environment, which has DEVLOOP_OS and
	// DEVLOOP_ARCH (the platform the image is built for, the nodes' by
	// default), DEVLOOP_OUTPUT, DEVLOOP_IMAGE and DEVLOOP_CONTEXT; ${NAME} of
	// those (only) is expanded in Command and Env values.
	Env map[string]string `yaml:"env"`
	// Timeout bounds the command (default 5m).
	Timeout time.Duration `yaml:"timeout"`
}

// SyncHooks are the commands run in a container after files were synced
// into it (e.g. a reload signal).
type SyncHooks struct {
	After []Hook `yaml:"after"`
}

// Hooks are commands run before and after a step.
type Hooks struct {
	Before []Hook `yaml:"before"`
	After  []Hook `yaml:"after"`
}

// Hook is one command. Without Container it runs on this machine, in Dir
// (default: devloop.yaml's directory), with an environment that names what
// happened (DEVLOOP_IMAGE, DEVLOOP_TAG, DEVLOOP_IMAGE_REF,
// DEVLOOP_KUBE_CONTEXT, DEVLOOP_NAMESPACE, DEVLOOP_CONFIG_DIR,
// DEVLOOP_PROFILES). With Container.Selector it runs in that container of
// every pod the selector matches, in the deploy namespace.
type Hook struct {
	Command []string `yaml:"command" devloop:"required"`
	Dir     string   `yaml:"dir"`
	// Timeout bounds the command (default 5m).
	Timeout time.Duration `yaml:"timeout"`
	// OS limits a host hook to these operating systems (GOOS values:
	// linux, darwin, windows); empty means every one.
	OS        []string      `yaml:"os"`
	Container ContainerHook `yaml:"container"`

	// DirPath is the absolute directory of a host hook.
	DirPath string `yaml:"-"`
}

// ContainerHook selects the containers a hook runs in.
type ContainerHook struct {
	// Selector is a label selector of pods, e.g. app=api.
	Selector string `yaml:"selector"`
	// Container is the container's name (default: the pod's first).
	Container string `yaml:"container"`
}

// InContainer reports whether the hook runs in containers.
func (h Hook) InContainer() bool { return h.Container.Selector != "" }

// DefaultHookTimeout bounds a hook without a timeout.
const DefaultHookTimeout = 5 * time.Minute

// Deploy says what to apply and how long to wait for it: a kustomize
// overlay, Helm releases, or both (the releases are deployed first).
type Deploy struct {
	Kustomize Kustomize `yaml:"kustomize"`
	// Helm lists charts installed or upgraded in process with the Helm SDK.
	Helm Helm `yaml:"helm"`
	// Namespace, when set, overrides the namespace of namespaced objects. It
	// may use the environment, ${USER} or $USER (lower-cased), e.g. dev-${USER}
	// for a per-person namespace on a shared cluster; the result must be a DNS label.
	Namespace string `yaml:"namespace"`
	// StatusTimeout bounds the wait for readiness (default 5m).
	StatusTimeout time.Duration `yaml:"statusTimeout"`
	// Hooks run before the apply (a failing one stops the deploy) and
	// after the rollout is ready.
	Hooks Hooks `yaml:"hooks"`
	// Adopt lets devloop take over objects of the manifests that already
	// exist without its labels (--adopt); adopted objects are never deleted.
	Adopt bool `yaml:"adopt"`
	// ImagePullSecrets names Secrets (of type kubernetes.io/dockerconfigjson,
	// made beforehand in the namespace) added to the imagePullSecrets of
	// every pod template, for a registry that needs credentials. devloop
	// references them only; it never reads or prints them.
	ImagePullSecrets []string `yaml:"imagePullSecrets"`
}

// Kustomize points at a kustomize overlay.
type Kustomize struct {
	// Path is the overlay directory, relative to devloop.yaml.
	Path string `yaml:"path" devloop:"required"`
	// Dir is the absolute overlay directory.
	Dir string `yaml:"-"`
}

// PortForward forwards a local port to a port of a resource in the cluster.
type PortForward struct {
	// Resource is service/NAME, deployment/NAME, statefulset/NAME or pod/NAME.
	Resource string `yaml:"resource" devloop:"required"`
	Port     int    `yaml:"port" devloop:"required"`
	// LocalPort defaults to Port.
	LocalPort int `yaml:"localPort"`
	// Address is the local listen address (default 127.0.0.1).
	Address   string `yaml:"address"`
	Namespace string `yaml:"namespace"`
}

// Kind returns the resource kind of the forward (service, deployment, statefulset, pod).
func (p PortForward) Kind() string { k, _ := splitResource(p.Resource); return k }

// Name returns the resource name of the forward.
func (p PortForward) Name() string { _, n := splitResource(p.Resource); return n }

// Dev tunes `devloop dev`.
type Dev struct {
	// QuietPeriod is the debounce of file events (default 50ms).
	QuietPeriod time.Duration `yaml:"quietPeriod"`
}

// Profile overrides the top-level fields it names when it is active.
type Profile struct {
	Name       string     `yaml:"name" devloop:"required"`
	Activation Activation `yaml:"activation"`

	Build         Build         `yaml:"build"`
	Deploy        Deploy        `yaml:"deploy"`
	PortForward   []PortForward `yaml:"portForward"`
	Registry      string        `yaml:"registry"`
	AllowContexts []string      `yaml:"allowContexts"`
	Dev           Dev           `yaml:"dev"`
}

// Activation selects a profile automatically.
type Activation struct {
	// KubeContext is a regular expression that must match the whole current kube
	// context name.
	KubeContext string `yaml:"kubeContext"`
}

// ActiveProfile is a profile merged into the effective configuration.
type ActiveProfile struct {
	Name string
	// Reason says why it is active, e.g. `selected with --profile` or
	// `kube context "prod-eu" matches activation.kubeContext "prod-.*"`.
	Reason string
}

// Options select profiles when loading.
type Options struct {
	// Profiles are profile names selected explicitly, applied in order.
	Profiles []string
	// KubeContext is the current kube context; profiles whose activation matches it are
	// applied first, in file order, then the explicitly selected ones, so an explicit
	// choice wins. Empty disables activation.
	KubeContext string
	// LookupEnv reads the environment for values that may use it
	// (deploy.namespace); nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}
