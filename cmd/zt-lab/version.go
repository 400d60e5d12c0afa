package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ztlab/zt-lab/mesh"
)

// buildInfo is what zt-lab knows of its own build: the module version and
// the commit the go command stamped into the binary.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a work tree with changes
	Time     string `json:"commit_time,omitempty"`
	Go       string `json:"go"`
}

// commit is the commit zt-lab was built from when the go command could not
// stamp one (a git worktree, whose .git is a file, gets none):
// `make build` sets it with -ldflags "-X main.commit=...", a "+" at its end
// for a work tree with changes.
var commit string

// readBuildInfo reads the version and vcs settings the go command embeds.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: "(unknown)", Go: runtime.Version()}
	b.Commit, b.Modified = strings.CutSuffix(commit, "+")
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if info.Main.Version != "" {
		b.Version = info.Main.Version
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "vcs.time":
			b.Time = s.Value
		}
	}
	return b
}

// String is the version line: "zt-lab (devel) commit 1a2b3c4d5e6f (modified), go1.26.8".
func (b buildInfo) String() string {
	s := "zt-lab " + b.Version
	switch {
	case b.Commit == "":
		s += ", commit unknown (built without version control information)"
	default:
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " commit " + c
		if b.Modified {
			s += " (modified)"
		}
	}
	return s + ", " + b.Go
}

// consulVersion is the consul zt-lab would run, as a line: its version and
// path, or that none was found and why.
func consulVersion(ctx context.Context, flag string) (mesh.Binary, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	bin, err := mesh.FindConsul(ctx, flag)
	if err != nil {
		// "no consul binary found (looked at ...): run `make consul` ...",
		// or what is wrong with the one found.
		return bin, "consul: " + err.Error()
	}
	if bin.Foreign != "" {
		return bin, fmt.Sprintf("consul %s at %s (a %s build for the hosts: its version is read from the file, not run here)", bin.Version, bin.Path, bin.Foreign)
	}
	return bin, fmt.Sprintf("consul %s at %s", bin.Version, bin.Path)
}

// writeVersion prints zt-lab's version line and the consul line.
func writeVersion(ctx context.Context, w io.Writer, consulFlag string) {
	_, line := consulVersion(ctx, consulFlag)
	fmt.Fprintf(w, "%s\n%s\n", readBuildInfo(), line)
}

func newVersionCmd() *cobra.Command {
	var consul string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print zt-lab's version and commit, and the consul it would run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			writeVersion(cmd.Context(), cmd.OutOrStdout(), consul)
			return nil
		},
	}
	cmd.Flags().StringVar(&consul, "consul", "", "consul binary to report on (default: $ZTLAB_CONSUL, bin/consul, PATH)")
	return cmd
}
