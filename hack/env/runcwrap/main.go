// Command runcwrap is the test environment's Docker runtime: runc, minus one
// capability this sandbox cannot grant.
//
// The sandbox's capability bounding set lacks CAP_SYS_RESOURCE. Docker 20.10
// asks for every capability when a container or an exec is privileged (and
// ignores --cap-drop then), so `docker run --privileged`, which kind uses for
// every node and every `docker exec`, fails in runc with "unable to apply
// caps: operation not permitted". dockerd runs this wrapper as its default
// runtime: before `runc create|run` it removes CAP_SYS_RESOURCE from the
// bundle's config.json, before `runc exec --process FILE` from that file, and
// then it execs the real runc with the same arguments.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

const dropped = "CAP_SYS_RESOURCE"

func main() {
	runc := os.Getenv("DEVLOOP_RUNC")
	if runc == "" {
		runc = "/usr/sbin/runc"
	}
	if err := rewrite(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "runcwrap:", err)
		os.Exit(1)
	}
	err := syscall.Exec(runc, append([]string{runc}, os.Args[1:]...), os.Environ())
	fmt.Fprintln(os.Stderr, "runcwrap: exec", runc+":", err)
	os.Exit(1)
}

// rewrite finds the spec a runc command line reads and drops the capability.
func rewrite(args []string) error {
	cmd, rest := command(args)
	switch cmd {
	case "create", "run":
		bundle := flagValue(rest, "--bundle", "-b")
		if bundle == "" {
			bundle = "."
		}
		return edit(filepath.Join(bundle, "config.json"), func(spec map[string]any) {
			if p, ok := spec["process"].(map[string]any); ok {
				dropCaps(p)
			}
		})
	case "exec":
		if file := flagValue(rest, "--process", "-p"); file != "" {
			return edit(file, dropCaps)
		}
	}
	return nil
}

// command returns runc's subcommand and the arguments after it, skipping
// the global flags (all of which take a value but the boolean ones below).
func command(args []string) (string, []string) {
	boolean := []string{"--debug", "--systemd-cgroup"}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case len(a) > 0 && a[0] != '-':
			return a, args[i+1:]
		case slices.Contains(boolean, a) || strings.Contains(a, "="):
		default:
			i++ // the flag's value
		}
	}
	return "", nil
}

func flagValue(args []string, names ...string) string {
	for i, a := range args {
		for _, n := range names {
			if a == n && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, n+"="); ok {
				return v
			}
		}
	}
	return ""
}

// dropCaps removes the capability from every set of a process spec.
func dropCaps(process map[string]any) {
	caps, ok := process["capabilities"].(map[string]any)
	if !ok {
		return
	}
	for set, v := range caps {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		caps[set] = slices.DeleteFunc(list, func(c any) bool { return c == dropped })
	}
}

func edit(path string, change func(map[string]any)) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	change(spec)
	out, err := json.Marshal(spec)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
