package equinix

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"time"

	"github.com/ztlab/zt-lab/infra"
	sshlab "github.com/ztlab/zt-lab/infra/ssh"
)

// SSHWait is how long a new device may take, once the API calls it
// active, to accept the lab's key over SSH: first boot runs cloud-init.
const SSHWait = 10 * time.Minute

// SSHOptions says what the SSH provider copies to the devices: the
// controller's zt-lab and consul, or the Linux builds chosen for each
// device's processor, as the ssh provider chooses them (a Mac's own do
// not run on Metal).
type SSHOptions struct {
	Controller sshlab.Controller
	Builds     sshlab.RemoteBuilds // --remote-binary, --remote-consul
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

// Hosts are the SSH lab's hosts, each of which can also lose its power.
func (o *OverSSH) Hosts() []infra.Host {
	var out []infra.Host
	for _, h := range o.Lab.Hosts() {
		out = append(out, o.wrap(h))
	}
	return out
}

// Host is the SSH lab's host of that name, which can also lose its power.
func (o *OverSSH) Host(name string) (infra.Host, bool) {
	h, ok := o.Lab.Host(name)
	if !ok {
		return nil, false
	}
	return o.wrap(h), true
}

// AddHost makes a device for spec and adds it to the SSH lab.
func (o *OverSSH) AddHost(ctx context.Context, spec infra.HostSpec) (infra.Host, error) {
	h, err := o.Lab.AddHost(ctx, spec)
	if err != nil {
		return nil, err
	}
	return o.wrap(h), nil
}

func (o *OverSSH) wrap(h infra.Host) infra.Host {
	d, ok := o.metal.Host(h.Name())
	if !ok {
		return h
	}
	return &poweredHost{Host: h.(*sshlab.Host), device: d.(*Host)}
}

// poweredHost is a device's SSH host with its power switch: the Metal
// API's power off and on.
type poweredHost struct {
	*sshlab.Host
	device *Host
}

// FailModes are every host's, and a power cut.
func (h *poweredHost) FailModes() []infra.FailMode {
	return append(slices.Clone(infra.FailModes), infra.PowerOff)
}

// Fail powers the device off through the API for PowerOff; every other
// failure is the SSH host's.
func (h *poweredHost) Fail(ctx context.Context, mode infra.FailMode) error {
	if mode != infra.PowerOff {
		return h.Host.Fail(ctx, mode)
	}
	// The device's own crash is a power-off through the API.
	return h.Host.PowerOff(ctx, func(ctx context.Context) error { return h.device.Fail(ctx, infra.Crash) })
}

// Recover powers a powered-off device on, waits until Metal calls it
// active, logs in again and starts what ran; other failures are the SSH
// host's to undo.
func (h *poweredHost) Recover(ctx context.Context) error {
	if h.State() != infra.StatePoweredOff {
		return h.Host.Recover(ctx)
	}
	if err := h.device.Recover(ctx); err != nil {
		return err
	}
	return h.Host.Reconnect(ctx)
}

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
	sp, err := sshProvider(ml, o)
	if err != nil {
		return nil, err
	}
	l, err := sp.Up(ctx, t, progress)
	if err != nil {
		return nil, err
	}
	return l.(*sshlab.Lab), nil
}

// sshProvider is the SSH provider on ml's devices, copying what o chooses
// for each device's processor, as --provider ssh does.
func sshProvider(ml *Lab, o SSHOptions) (*sshlab.Provider, error) {
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
		Inventory: inv, HostKeys: keys, WaitSSH: SSHWait,
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
	o.Builds.Set(sp, o.Controller)
	return sp, nil
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

// Attacker is never: Metal devices reach each other through routers, with
// no Ethernet segment between them for an attacker's ARP to poison.
func (o *OverSSH) Attacker() (infra.HostSpec, string, bool) {
	return infra.HostSpec{}, "no attacker host in this lab: Equinix Metal devices share no Ethernet segment to poison", false
}
