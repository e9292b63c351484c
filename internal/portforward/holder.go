package portforward

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// PortInUseError says that the local port of a forward is taken, and by whom
// when that can be found.
type PortInUseError struct {
	// Address is host:port that could not be bound.
	Address string
	// PID of the process holding the port, 0 when unknown.
	PID int
	// Command is that process's name, empty when unknown.
	Command string
	// Err is the error from listen.
	Err error
}

func (e *PortInUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is in use by pid %d (%s)", e.Address, e.PID, e.Command)
	}
	return fmt.Sprintf("%s is in use (the process holding it could not be found): %v", e.Address, e.Err)
}

func (e *PortInUseError) Unwrap() error { return e.Err }

// portHolder finds the process listening on TCP port through
// /proc/net/tcp{,6} (socket inode) and /proc/*/fd (the process with that
// socket open). It returns 0 when nothing is found.
func portHolder(procRoot string, port int) (pid int, command string) {
	inodes := map[string]bool{}
	for _, f := range []string{"net/tcp", "net/tcp6"} {
		for _, ino := range listeningInodes(filepath.Join(procRoot, f), port) {
			inodes[ino] = true
		}
	}
	if len(inodes) == 0 {
		return 0, ""
	}
	dirs, err := os.ReadDir(procRoot)
	if err != nil {
		return 0, ""
	}
	for _, d := range dirs {
		p, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		fdDir := filepath.Join(procRoot, d.Name(), "fd")
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
			if err != nil || !strings.HasPrefix(link, "socket:[") {
				continue
			}
			if inodes[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] {
				comm, _ := os.ReadFile(filepath.Join(procRoot, d.Name(), "comm"))
				return p, strings.TrimSpace(string(comm))
			}
		}
	}
	return 0, ""
}

// listeningInodes returns the inodes of sockets in LISTEN state on port in a
// /proc/net/tcp-format file.
func listeningInodes(file string, port int) []string {
	f, err := os.Open(file)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(fields) < 10 || fields[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(fields[1], ":")
		if !ok {
			continue
		}
		p, err := strconv.ParseUint(hexPort, 16, 32)
		if err != nil || int(p) != port {
			continue
		}
		out = append(out, fields[9])
	}
	return out
}
