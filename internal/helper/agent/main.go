// Command devloop-helper is the small static program devloop injects, in
// `devloop dev` only, into containers whose sync rules restart the process.
// It needs nothing from the image (no shell, no tar), so it works on FROM
// scratch and distroless images:
//
//	devloop-helper install DEST      copy itself to DEST (the init container)
//	devloop-helper run -- ARGV...    run ARGV and restart it on request; the
//	                                 container's process, alive across restarts
//	devloop-helper recv [--restart]  extract a tar read on stdin under /, then
//	                                 restart the process run by `run`
//	devloop-helper rm PATH...        delete files
//
// devloop builds it from these sources (stdlib only) into an image of its
// own; see package helper.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

// run dispatches a subcommand and returns the exit code.
func run(args []string, stdin io.Reader, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: devloop-helper install DEST | run -- ARGV... | recv [--restart] | rm PATH...")
		return 2
	}
	var err error
	switch args[0] {
	case "install":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: devloop-helper install DEST")
			return 2
		}
		err = install(args[1])
	case "run":
		argv := args[1:]
		if len(argv) > 0 && argv[0] == "--" {
			argv = argv[1:]
		}
		if len(argv) == 0 {
			fmt.Fprintln(stderr, "usage: devloop-helper run -- ARGV...")
			return 2
		}
		return supervise(argv, socketPath(), stderr)
	case "recv":
		restart := len(args) > 1 && args[1] == "--restart"
		err = receive(stdin, "/", restart, socketPath())
	case "rm":
		for _, p := range args[1:] {
			if rerr := os.Remove(p); rerr != nil && !os.IsNotExist(rerr) {
				err = rerr
			}
		}
	default:
		fmt.Fprintf(stderr, "devloop-helper: unknown command %q\n", args[0])
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "devloop-helper:", err)
		return 1
	}
	return 0
}

// socketPath is where `run` listens, beside the helper in its volume
// (DEVLOOP_HELPER_SOCKET overrides it, for tests).
func socketPath() string {
	if p := os.Getenv("DEVLOOP_HELPER_SOCKET"); p != "" {
		return p
	}
	return "/devloop/helper.sock"
}

// install copies the running executable to dest, executable by everyone
// (the app container may run as any user).
func install(dest string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding myself: %w", err)
	}
	in, err := os.Open(self)
	if err != nil {
		return fmt.Errorf("reading myself: %w", err)
	}
	defer in.Close()
	// The app may run as another user than the init container: it makes
	// its socket beside the helper (best effort; an emptyDir is 0777).
	_ = os.Chmod(filepath.Dir(dest), 0o1777)
	return writeFile(dest, in, 0o755)
}
