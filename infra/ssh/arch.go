package sshlab

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// The lab's hosts are Linux machines; the controller that copies zt-lab
// to them may be a Mac. What is copied must be a Linux program for the
// host's processor, and is checked before it goes.

// archOfUname is Go's name for the processor `uname -m` names.
var archOfUname = map[string]string{
	"x86_64": "amd64", "amd64": "amd64",
	"aarch64": "arm64", "arm64": "arm64",
	"armv6l": "arm", "armv7l": "arm", "armv8l": "arm",
	"i386": "386", "i486": "386", "i586": "386", "i686": "386",
	"riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x",
}

// elfMachine is the ELF machine of a Go architecture's Linux programs.
var elfMachine = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM, "386": elf.EM_386,
	"riscv64": elf.EM_RISCV, "ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390,
}

// ArchOfUname turns what `uname -m` prints into Go's name for the
// processor (amd64, arm64, ...).
func ArchOfUname(uname string) (string, error) {
	u := strings.TrimSpace(uname)
	if a, ok := archOfUname[u]; ok {
		return a, nil
	}
	return "", fmt.Errorf("uname -m says %q, a processor zt-lab is not built for", u)
}

// BinaryArch says which Linux processor the program at path is built
// for, or why it is no Linux program at all.
func BinaryArch(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := f.ReadAt(magic[:], 0); err != nil {
		return "", fmt.Errorf("%s is not a Linux program (%d bytes, no ELF header)", path, fileSize(f))
	}
	if !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		if what := formatOf(magic); what != "" {
			return "", fmt.Errorf("%s is not a Linux program: it is %s", path, what)
		}
		return "", fmt.Errorf("%s is not a Linux program (no ELF header)", path)
	}
	e, err := elf.NewFile(f)
	if err != nil {
		return "", fmt.Errorf("%s: a damaged ELF file: %v", path, err)
	}
	if e.OSABI != elf.ELFOSABI_NONE && e.OSABI != elf.ELFOSABI_LINUX {
		return "", fmt.Errorf("%s is an ELF program for %v, not Linux", path, e.OSABI)
	}
	if e.Type != elf.ET_EXEC && e.Type != elf.ET_DYN {
		return "", fmt.Errorf("%s is an ELF %v, not a program", path, e.Type)
	}
	for arch, m := range elfMachine {
		if m == e.Machine && (arch != "ppc64le" || e.ByteOrder.String() == "LittleEndian") {
			return arch, nil
		}
	}
	return "", fmt.Errorf("%s is a Linux program for %v, a processor zt-lab does not know", path, e.Machine)
}

func fileSize(f *os.File) int64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// formatOf names the executable format that starts with magic, when it
// is one a controller is likely to hold; "" when it is none.
func formatOf(magic [4]byte) string {
	switch {
	case bytes.Equal(magic[:], []byte{0xcf, 0xfa, 0xed, 0xfe}), bytes.Equal(magic[:], []byte{0xce, 0xfa, 0xed, 0xfe}),
		bytes.Equal(magic[:], []byte{0xca, 0xfe, 0xba, 0xbe}):
		return "a macOS (Mach-O) program"
	case magic[0] == 'M' && magic[1] == 'Z':
		return "a Windows program"
	case magic[0] == '#' && magic[1] == '!':
		return "a script"
	}
	return ""
}

// RemoteZtLab chooses the zt-lab to copy to a Linux host of processor
// arch, for a controller that is self, built for goos/goarch: flag when
// given (--remote-binary), else self when it is linux/arch, else
// zt-lab-linux-ARCH next to self (where make dist puts them side by
// side), else an error saying to pass --remote-binary.
func RemoteZtLab(flag, self, goos, goarch string) func(arch string) (string, error) {
	return func(arch string) (string, error) {
		if flag != "" {
			return flag, nil
		}
		if goos == "linux" && goarch == arch {
			return self, nil
		}
		beside := filepath.Join(filepath.Dir(self), "zt-lab-linux-"+arch)
		if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() {
			return beside, nil
		}
		return "", fmt.Errorf("this zt-lab is %s/%s and the host is linux/%s: pass --remote-binary FILE, a linux/%s zt-lab (make dist builds dist/zt-lab-linux-%s; or put it beside this one as %s)",
			goos, goarch, arch, arch, arch, beside)
	}
}

// hostArch asks the host which processor it has.
func hostArch(ctx context.Context, c *ssh.Client, t Target) (string, error) {
	out, err := shell(ctx, c, t, "uname -m", nil)
	if err != nil {
		return "", fmt.Errorf("uname -m on %s: %w", t.Name, err)
	}
	arch, err := ArchOfUname(string(out))
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.Name, err)
	}
	return arch, nil
}
