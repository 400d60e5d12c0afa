package equinix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/ztlab/zt-lab/infra"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

// SSHWait is how long a new device may take, once the API calls it
// active, to accept the lab's key over SSH: first boot runs cloud-init.
const SSHWait = 10 * time.Minute

// SSHOptions says what the SSH provider copies to the devices.
type SSHOptions struct {
	Self  string            // this zt-lab binary
	Files map[string]string // other binaries, by their name on the hosts ("consul")
}

// OverSSH is a lab of Metal devices that the walkthrough runs on through
// the SSH provider: the SSH lab does the work, and closing it also deletes
// the devices and the key.
type OverSSH struct {
	*sshlab.Lab
	metal *Lab
}

var _ infra.Lab = (*OverSSH)(nil)

// Metal is the lab of devices under the SSH lab.
func (o *OverSSH) Metal() *Lab { return o.metal }

// Close ends the walkthrough's processes on the devices, then deletes the
// devices and the key.
func (o *OverSSH) Close(ctx context.Context) error {
	return errors.Join(o.Lab.Close(ctx), o.metal.Close(ctx))
}

// UpOverSSH builds the devices of t, then logs in to each as root with the
// lab's own key and starts the SSH provider's lab on them. Their host keys
// are new by construction: they are recorded, on first use, in the lab's
// own known_hosts, never the user's. If anything fails, the devices are
// deleted again.
func (p *Provider) UpOverSSH(ctx context.Context, t infra.Topology, o SSHOptions, progress func(infra.Event)) (*OverSSH, error) {
	ml, err := p.UpLab(ctx, t, progress)
	if err != nil {
		return nil, err
	}
	sl, err := p.sshLab(ctx, ml, t, o, progress)
	if err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timing.Cleanup)
		defer cancel()
		if cerr := ml.Close(cctx); cerr != nil {
			err = fmt.Errorf("%w; deleting the devices failed too: %v (zt-lab down --provider equinix --lab %s)", err, cerr, ml.ID())
		}
		return nil, err
	}
	return &OverSSH{Lab: sl, metal: ml}, nil
}

func (p *Provider) sshLab(ctx context.Context, ml *Lab, t infra.Topology, o SSHOptions, progress func(infra.Event)) (*sshlab.Lab, error) {
	inv := &sshlab.Inventory{KnownHosts: filepath.Join(ml.Dir(), "known_hosts"), RemoteDir: sshlab.DefaultRemoteDir}
	for _, st := range ml.SSHTargets() {
		inv.Hosts = append(inv.Hosts, sshTarget(st))
	}
	if err := inv.Validate(); err != nil {
		return nil, err
	}
	keys, err := sshlab.HostKeyCallback(inv.KnownHosts, sshlab.TrustAll("new devices of lab "+ml.ID()))
	if err != nil {
		return nil, err
	}
	sp := &sshlab.Provider{
		Inventory: inv, Self: o.Self, Files: o.Files, HostKeys: keys, WaitSSH: SSHWait,
		Provision: func(ctx context.Context, spec infra.HostSpec) (sshlab.Target, error) {
			if _, err := ml.AddHost(ctx, spec); err != nil {
				return sshlab.Target{}, err
			}
			for _, st := range ml.SSHTargets() {
				if st.Host == spec.Name {
					return sshTarget(st), nil
				}
			}
			return sshlab.Target{}, fmt.Errorf("device %s was made but has no address", spec.Name)
		},
	}
	l, err := sp.Up(ctx, t, progress)
	if err != nil {
		return nil, err
	}
	return l.(*sshlab.Lab), nil
}

// sshTarget is how the SSH provider reaches a device: its public address,
// root, the lab's key; the lab's own traffic goes over the private network.
func sshTarget(st SSHTarget) sshlab.Target {
	lab := st.Private
	if !lab.IsValid() {
		lab = st.Addr
	}
	return sshlab.Target{
		Name: st.Host, Role: st.Role, Addr: net.JoinHostPort(st.Addr.String(), "22"), LabAddr: lab,
		User: st.User, KeyFile: st.KeyFile,
	}
}
