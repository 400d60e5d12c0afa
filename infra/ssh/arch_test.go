package sshlab

import (
	"debug/elf"
	endian "encoding/binary"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// elfHeader is the 64 bytes a 64-bit little-endian ELF file starts with:
// enough for debug/elf, and for the check, which reads no more.
func elfHeader(osabi elf.OSABI, typ elf.Type, machine elf.Machine) []byte {
	h := make([]byte, 64)
	copy(h, elf.ELFMAG)
	h[elf.EI_CLASS], h[elf.EI_DATA], h[elf.EI_VERSION], h[elf.EI_OSABI] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), byte(osabi)
	le := endian.LittleEndian
	le.PutUint16(h[16:], uint16(typ))
	le.PutUint16(h[18:], uint16(machine))
	le.PutUint32(h[20:], uint32(elf.EV_CURRENT))
	le.PutUint16(h[52:], 64) // e_ehsize
	le.PutUint16(h[54:], 56) // e_phentsize
	le.PutUint16(h[58:], 64) // e_shentsize
	return h
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBinaryArchReadsTheELFHeader(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, arch, err string
	}{
		{"this test, a real Go program", self, runtime.GOARCH, ""},
		{"linux/amd64", writeFile(t, dir, "amd64", elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_X86_64)), "amd64", ""},
		{"linux/arm64", writeFile(t, dir, "arm64", elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_AARCH64)), "arm64", ""},
		{"a position-independent linux/arm64", writeFile(t, dir, "pie", elfHeader(elf.ELFOSABI_LINUX, elf.ET_DYN, elf.EM_AARCH64)), "arm64", ""},
		{"a Mac's zt-lab", writeFile(t, dir, "darwin", append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...)), "", "is not a Linux program: it is a macOS (Mach-O) program"},
		{"a universal Mac program", writeFile(t, dir, "fat", append([]byte{0xca, 0xfe, 0xba, 0xbe}, make([]byte, 60)...)), "", "it is a macOS (Mach-O) program"},
		{"a Windows zt-lab.exe", writeFile(t, dir, "exe", append([]byte("MZ\x90\x00"), make([]byte, 60)...)), "", "it is a Windows program"},
		{"a script", writeFile(t, dir, "sh", []byte("#!/bin/sh\nexec zt-lab\n")), "", "it is a script"},
		{"text", writeFile(t, dir, "txt", []byte("hello, world\n")), "", "is not a Linux program (no ELF header)"},
		{"empty", writeFile(t, dir, "empty", nil), "", "(0 bytes, no ELF header)"},
		{"FreeBSD", writeFile(t, dir, "bsd", elfHeader(elf.ELFOSABI_FREEBSD, elf.ET_EXEC, elf.EM_X86_64)), "", "an ELF program for ELFOSABI_FREEBSD, not Linux"},
		{"an object file", writeFile(t, dir, "o", elfHeader(elf.ELFOSABI_NONE, elf.ET_REL, elf.EM_X86_64)), "", "an ELF ET_REL, not a program"},
		{"an unknown processor", writeFile(t, dir, "sparc", elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_SPARCV9)), "", "a Linux program for EM_SPARCV9"},
		{"a damaged header", writeFile(t, dir, "cut", elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_X86_64)[:20]), "", "a damaged ELF file"},
		{"missing", filepath.Join(dir, "nope"), "", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arch, err := BinaryArch(tc.path)
			if arch != tc.arch || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("BinaryArch = %q, %v; want %q, %q", arch, err, tc.arch, tc.err)
			}
		})
	}
}

func TestArchOfUname(t *testing.T) {
	for in, want := range map[string]string{"x86_64\n": "amd64", "aarch64\n": "arm64", "arm64": "arm64", "armv7l\n": "arm", "i686": "386", "riscv64": "riscv64", "mips": "", "": ""} {
		got, err := ArchOfUname(in)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("ArchOfUname(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestRemoteZtLabChoosesALinuxBuildForTheHost(t *testing.T) {
	dir := t.TempDir()
	self := writeFile(t, dir, "zt-lab", nil)
	beside := writeFile(t, dir, "zt-lab-linux-arm64", nil)
	if err := os.Mkdir(filepath.Join(dir, "zt-lab-linux-riscv64"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, flag, goos, goarch, host string
		want, err                      string
	}{
		{"--remote-binary wins", "/opt/zt-lab-linux-amd64", "darwin", "arm64", "amd64", "/opt/zt-lab-linux-amd64", ""},
		{"--remote-binary wins on Linux too", "/opt/other", "linux", "amd64", "amd64", "/opt/other", ""},
		{"a Linux controller copies itself", "", "linux", "amd64", "amd64", self, ""},
		{"a Mac finds the build beside it", "", "darwin", "arm64", "arm64", beside, ""},
		{"a Linux controller with hosts of another processor", "", "linux", "amd64", "arm64", beside, ""},
		{"nothing for the host", "", "darwin", "arm64", "amd64", "",
			"this zt-lab is darwin/arm64 and the host is linux/amd64: pass --remote-binary FILE, a linux/amd64 zt-lab (make dist builds dist/zt-lab-linux-amd64; or put it beside this one as " + filepath.Join(dir, "zt-lab-linux-amd64") + ")"},
		{"a directory is no build", "", "windows", "amd64", "riscv64", "", "pass --remote-binary FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RemoteZtLab(tc.flag, self, tc.goos, tc.goarch)(tc.host)
			if got != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("got %q, %v; want %q, %q", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestACopyThatCannotRunOnTheHostSaysWhatToPass(t *testing.T) {
	dir := t.TempDir()
	arm := writeFile(t, dir, "zt-lab-linux-arm64", elfHeader(elf.ELFOSABI_NONE, elf.ET_EXEC, elf.EM_AARCH64))
	mac := writeFile(t, dir, "consul", append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 60)...))
	for _, tc := range []struct {
		b    *binary
		arch string
		want string
	}{
		{&binary{name: "zt-lab", local: arm}, "arm64", ""},
		{&binary{name: "zt-lab", local: arm}, "amd64", "zt-lab cannot run there: " + arm + " is built for linux/arm64, the host is linux/amd64; pass --remote-binary FILE, a linux/amd64 zt-lab (make dist builds dist/zt-lab-linux-amd64)"},
		{&binary{name: "consul", local: mac}, "amd64", "consul cannot run there: " + mac + " is not a Linux program: it is a macOS (Mach-O) program; the hosts need a linux/amd64 consul"},
	} {
		err := tc.b.runsOn(tc.arch)
		if (err == nil) != (tc.want == "") || err != nil && err.Error() != tc.want {
			t.Errorf("%s on %s: %v; want %q", tc.b.local, tc.arch, err, tc.want)
		}
	}
}
