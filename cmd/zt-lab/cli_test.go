package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// zt runs zt-lab in this process and returns its exit code and streams.
func zt(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runWith(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestArgumentMistakesExitTwoWithOneLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"foo"}, `unknown command "foo" for zt-lab: see zt-lab --help for the commands`},
		{[]string{"stauts"}, `unknown command "stauts" for zt-lab: did you mean status?`},
		{[]string{"status", "extra"}, `zt-lab status takes no arguments, got "extra": see zt-lab status --help`},
		{[]string{"down", "now"}, `zt-lab down takes no arguments, got "now": see zt-lab down --help`},
		{[]string{"version", "2"}, `zt-lab version takes no arguments, got "2": see zt-lab version --help`},
		{[]string{"remote", "bogus"}, `unknown command "bogus" for zt-lab remote: see zt-lab remote --help for the commands`},
		{[]string{"completion", "nushell"}, `unknown command "nushell" for zt-lab completion: see zt-lab completion --help for the commands`},
		{[]string{"completion", "bash", "extra"}, `zt-lab completion bash takes no arguments, got "extra": see zt-lab completion bash --help`},
		{[]string{"fortune", "bogus"}, `unknown command "bogus" for zt-lab fortune: use serve or get`},
		{[]string{"shell"}, "shell needs one host, e.g. zt-lab shell fcc00"},
		{[]string{"recover", "a", "b"}, "recover needs one host, e.g. zt-lab recover fcs00"},
		{[]string{"down", "--bogus"}, "unknown flag: --bogus: see zt-lab down --help"},
		{[]string{"--bogus"}, "unknown flag: --bogus: see zt-lab --help"},
		{[]string{"bench", "--only", "memory,memroy"}, "--only memroy: use one or more of lab,sniffer,latency,memory,walkthrough, separated by commas"},
	} {
		code, stdout, stderr := zt(tc.args...)
		if code != 2 || stderr != "zt-lab: "+tc.want+"\n" || stdout != "" {
			t.Errorf("zt-lab %q: exit %d, stdout %q, stderr %q; want exit 2 and the one line %q", tc.args, code, stdout, stderr, "zt-lab: "+tc.want)
		}
	}
}

func TestVersionSaysZtLabAndConsul(t *testing.T) {
	fake := filepath.Join(t.TempDir(), "consul")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'Consul v1.22.7'\necho 'Revision 0'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	none := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		args []string
		env  string // $ZTLAB_CONSUL
		want string // the consul line
	}{
		{"version, a consul found", []string{"version"}, fake, "consul v1.22.7 at " + fake},
		{"--version, a consul found", []string{"--version"}, fake, "consul v1.22.7 at " + fake},
		{"version --consul", []string{"version", "--consul", fake}, none, "consul v1.22.7 at " + fake},
		{"version, none found", []string{"version"}, none, "consul: no consul binary found: $ZTLAB_CONSUL names " + none + ", which does not exist: run `make consul`"},
		{"--version, none found", []string{"--version"}, none, "consul: no consul binary found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("ZTLAB_CONSUL", tc.env)
			code, stdout, stderr := zt(tc.args...)
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if code != 0 || stderr != "" || len(lines) != 2 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and two lines", code, stdout, stderr)
			}
			if want := "zt-lab " + readBuildInfo().Version; !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], "commit") {
				t.Errorf("first line %q, want it to start %q and name the commit", lines[0], want)
			}
			if !strings.HasPrefix(lines[1], tc.want) {
				t.Errorf("consul line %q, want it to start %q", lines[1], tc.want)
			}
		})
	}
}

func TestBuildInfoLine(t *testing.T) {
	for _, tc := range []struct {
		b    buildInfo
		want string
	}{
		{buildInfo{Version: "v1.2.0", Commit: "0123456789abcdef0123", Go: "go1.26.8"}, "zt-lab v1.2.0 commit 0123456789ab, go1.26.8"},
		{buildInfo{Version: "(devel)", Commit: "abc", Modified: true, Go: "go1.26.8"}, "zt-lab (devel) commit abc (modified), go1.26.8"},
		{buildInfo{Version: "(devel)", Go: "go1.26.8"}, "zt-lab (devel), commit unknown (built without version control information), go1.26.8"},
	} {
		if got := tc.b.String(); got != tc.want {
			t.Errorf("%+v = %q, want %q", tc.b, got, tc.want)
		}
	}
}

// TestBoolFlagsTakeNoValueInHelp: pflag turns a backticked word in a
// flag's usage into its value name, so a bool flag whose help quotes a
// command would show as `-d, --detach zt-lab down`.
func TestBoolFlagsTakeNoValueInHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	n := 0
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.LocalFlags(), c.PersistentFlags()} {
			fs.VisitAll(func(f *pflag.Flag) {
				if f.Value.Type() != "bool" {
					return
				}
				n++
				if name, _ := pflag.UnquoteUsage(f); name != "" {
					t.Errorf("%s --%s shows the value name %q in its help: %q", c.CommandPath(), f.Name, name, f.Usage)
				}
			})
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
	if n < 5 {
		t.Fatalf("found only %d bool flags: the walk missed commands", n)
	}
	var help bytes.Buffer
	up, _, _ := newRootCmd().Find([]string{"up"})
	up.SetOut(&help)
	if err := up.Help(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(help.String(), "  -d, --detach   ") {
		t.Errorf("up --help shows --detach as:\n%s", help.String())
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, tc := range []struct{ shell, want string }{
		{"bash", "__start_zt-lab"},
		{"zsh", "#compdef zt-lab"},
		{"fish", "complete -c zt-lab"},
	} {
		code, stdout, stderr := zt("completion", tc.shell)
		if code != 0 || stderr != "" || !strings.Contains(stdout, tc.want) {
			t.Errorf("completion %s: exit %d, stderr %q, %d bytes without %q", tc.shell, code, stderr, len(stdout), tc.want)
		}
	}
}

// With no lab running, a host argument completes to nothing, not to the
// files of the current directory. e2e's TestCompletionAndStatusJSON
// completes the names of a running lab.
func TestHostCompletionWithNoLab(t *testing.T) {
	t.Setenv("ZTLAB_RUNTIME_DIR", filepath.Join(t.TempDir(), "rt"))
	for _, args := range [][]string{
		{"__complete", "shell", ""},
		{"__complete", "fail", "fc"},
		{"__complete", "recover", ""},
		{"__complete", "exec", ""},
	} {
		code, stdout, _ := zt(args...)
		if code != 0 || stdout != ":4\n" {
			t.Errorf("zt-lab %q: exit %d, %q; want no candidates and :4 (no file completion)", args, code, stdout)
		}
	}
}

func TestTheLocalLabOffLinuxSaysWhatToUse(t *testing.T) {
	for _, goos := range []string{"darwin", "windows", "freebsd"} {
		err := checkLocalOS(goos)
		var ue usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "this is "+goos+": use --provider ssh") || !strings.Contains(err.Error(), "Linux VM") {
			t.Errorf("%s: %v, want a usage error naming --provider ssh and a Linux VM", goos, err)
		}
	}
	if err := checkLocalOS("linux"); err != nil {
		t.Errorf("linux: %v", err)
	}
}
