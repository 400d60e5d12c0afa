package sshlab

import (
	"fmt"
	"os"
	"path/filepath"
)

// RemoteBuilds are the Linux builds a controller names for the hosts:
// --remote-binary (zt-lab) and --remote-consul; "" where it names none.
// The ssh and equinix providers share them.
type RemoteBuilds struct {
	ZtLab, Consul string
}

// Controller is the machine zt-lab runs on, as the choice of builds sees it.
type Controller struct {
	Self, Consul string // this zt-lab and the consul it found
	GOOS, GOARCH string // what this zt-lab is built for
	Cwd          string // where bin/consul-linux-ARCH is looked for
}

// Check says, before anything starts, when a build the user named is no
// Linux program at all; which processor it is for is checked against each
// host's when the host is known.
func (r RemoteBuilds) Check() error {
	if r.ZtLab != "" {
		if _, err := BinaryArch(r.ZtLab); err != nil {
			return fmt.Errorf("--remote-binary: %v: give a Linux zt-lab (make dist builds dist/zt-lab-linux-amd64 and dist/zt-lab-linux-arm64)", err)
		}
	}
	if r.Consul != "" {
		if _, err := BinaryArch(r.Consul); err != nil {
			return fmt.Errorf("--remote-consul: %v: give a Linux consul (make consul-linux GOARCH=amd64 builds bin/consul-linux-amd64)", err)
		}
	}
	return nil
}

// Set makes p copy to each host the zt-lab and the consul chosen for its
// processor (RemoteZtLab, RemoteConsul), while the scenes go on naming
// c.Self and c.Consul. No consul (c.Consul ""): none is copied.
func (r RemoteBuilds) Set(p *Provider, c Controller) {
	p.Self = c.Self
	if c.Self != "" {
		p.ZtLab = RemoteZtLab(r.ZtLab, c.Self, c.GOOS, c.GOARCH)
	}
	if c.Consul != "" {
		p.Files = map[string]string{"consul": c.Consul}
		p.Choose = map[string]func(string) (string, error){"consul": RemoteConsul(r.Consul, c)}
	}
}

// RemoteConsul chooses the consul to copy to a Linux host of processor
// arch: flag when given (--remote-consul), else consul-linux-ARCH beside
// c.Self or in c.Cwd's bin/ (where make consul-linux puts it), else the
// consul c found when it is a Linux build for arch, else an error saying
// what to pass and how to build one. A Mac's `make consul` builds a Mac
// consul, which no host runs.
func RemoteConsul(flag string, c Controller) func(arch string) (string, error) {
	return func(arch string) (string, error) {
		if flag != "" {
			return flag, nil
		}
		name := "consul-linux-" + arch
		var places []string
		if c.Self != "" {
			places = append(places, filepath.Join(filepath.Dir(c.Self), name))
		}
		if c.Cwd != "" {
			places = append(places, filepath.Join(c.Cwd, "bin", name))
		}
		for _, p := range places {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
		got, err := BinaryArch(c.Consul)
		if err == nil && got == arch {
			return c.Consul, nil
		}
		if err == nil {
			err = fmt.Errorf("%s is built for linux/%s", c.Consul, got)
		}
		return "", fmt.Errorf("the host is linux/%s and the consul found cannot run there: %v; pass --remote-consul FILE, a linux/%s consul (make consul-linux GOARCH=%s builds bin/consul-linux-%s)", arch, err, arch, arch, arch)
	}
}
