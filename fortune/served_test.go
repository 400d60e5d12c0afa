package fortune

import (
	"strings"
	"testing"
)

func TestFormatServed(t *testing.T) {
	tests := []struct {
		name, remote, fortune, want string
	}{
		{"one line", "198.18.0.30:53396", peace, `served 198.18.0.30:53396 "You love peace.\n"`},
		{"multi-line stays on one line", "198.18.0.30:53396", "Q: a?\n\t\t-- B\n", `served 198.18.0.30:53396 "Q: a?\n\t\t-- B\n"`},
		{"ipv6 remote", "[::1]:40000", "x", `served [::1]:40000 "x"`},
		{"empty remote", "", "x", `served - "x"`},
		{"remote with a space", "a b", "x", `served a?b "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FormatServed(tt.remote, tt.fortune); got != tt.want {
				t.Errorf("FormatServed(%q, %q) = %s, want %s", tt.remote, tt.fortune, got, tt.want)
			}
		})
	}
}

func TestParseServed(t *testing.T) {
	tests := []struct {
		name, line      string
		remote, fortune string
		ok              bool
	}{
		{"a served line", `served 198.18.0.30:53396 "You love peace.\n"`, "198.18.0.30:53396", peace, true},
		{"with its line ending", "served 1.2.3.4:5 \"x\"\r\n", "1.2.3.4:5", "x", true},
		{"the fortune may hold quotes and spaces", `served 1.2.3.4:5 "say \"hi\" now"`, "1.2.3.4:5", `say "hi" now`, true},
		{"another log line", "listening on 0.0.0.0:8181", "", "", false},
		{"no fortune", "served 1.2.3.4:5", "", "", false},
		{"unquoted fortune", "served 1.2.3.4:5 You love peace.", "", "", false},
		{"backquoted fortune", "served 1.2.3.4:5 `x`", "", "", false},
		{"unterminated quote", `served 1.2.3.4:5 "x`, "", "", false},
		{"text after the quote", `served 1.2.3.4:5 "x" y`, "", "", false},
		{"empty remote", `served  "x"`, "", "", false},
		{"prefix in the middle", `x served 1.2.3.4:5 "x"`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote, fortune, ok := ParseServed(tt.line)
			if remote != tt.remote || fortune != tt.fortune || ok != tt.ok {
				t.Errorf("ParseServed(%q) = %q, %q, %v; want %q, %q, %v",
					tt.line, remote, fortune, ok, tt.remote, tt.fortune, tt.ok)
			}
		})
	}
}

// The lab reads these lines back from a log a process wrote: whatever the
// bytes, ParseServed must not panic, and what it accepts must survive a
// round trip.
func FuzzParseServed(f *testing.F) {
	for _, s := range []string{
		FormatServed("198.18.0.30:53396", twain),
		FormatServed("[::1]:1", deepC),
		`served 1.2.3.4:5 "\xff\u00e9\x00"`,
		`served a "`, "served", "", `served 1.2.3.4:5 "\` + "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		remote, fortune, ok := ParseServed(line)
		if !ok {
			if remote != "" || fortune != "" {
				t.Fatalf("ParseServed(%q) = %q, %q, false; want empty strings with false", line, remote, fortune)
			}
			return
		}
		again := FormatServed(remote, fortune)
		r2, f2, ok2 := ParseServed(again)
		if !ok2 || r2 != remote || f2 != fortune {
			t.Fatalf("ParseServed(%q) = %q, %q; formatted again as %q it parsed as %q, %q, %v",
				line, remote, fortune, again, r2, f2, ok2)
		}
	})
}

// Whatever a connection's remote and fortune, the served line is one line
// that gives the fortune back byte for byte.
func FuzzServedRoundTrip(f *testing.F) {
	f.Add("198.18.0.30:53396", twain)
	f.Add("", "")
	f.Add("a b\"c", "\xff\x00\r\n")
	f.Fuzz(func(t *testing.T, remote, fortune string) {
		line := FormatServed(remote, fortune)
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("FormatServed(%q, %q) = %q, holds a line break", remote, fortune, line)
		}
		r, got, ok := ParseServed(line)
		if !ok || got != fortune {
			t.Fatalf("ParseServed(FormatServed(%q, %q)) = %q, %q, %v", remote, fortune, r, got, ok)
		}
		if validRemote(remote) && r != remote {
			t.Fatalf("remote %q came back as %q", remote, r)
		}
	})
}
