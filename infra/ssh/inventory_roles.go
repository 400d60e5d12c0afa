package sshlab

import (
	"fmt"

	"github.com/ztlab/zt-lab/infra"
)

var roles = []infra.Role{infra.RoleConsul, infra.RoleService, infra.RoleConsumer, infra.RoleOther, infra.RoleAttacker}

const roleList = "consul, fcs, fcc, other or attacker"

// checkNameRole refuses a host whose name the walkthrough gives another
// role: it runs consulNN as a Consul server, fcsNN as the fortune service
// and fccNN as its consumer, and finds them by name. Caught here, such a
// mistake never waits for a login to every host. Other names may take any
// role.
func checkNameRole(name string, role infra.Role) error {
	if want := infra.RoleOf(name); want != infra.RoleOther && want != role {
		return fmt.Errorf("role %s does not fit the name: the walkthrough runs %s as %s, so set role: %s (or rename the host)", role, name, want, want)
	}
	return nil
}

// CheckTopology says, before any host is logged in to, whether the
// inventory holds every host of t with t's role.
func (inv *Inventory) CheckTopology(t infra.Topology) error {
	_, err := inv.Targets(t)
	return err
}

// parseRole is the role a user named.
func parseRole(s string) (infra.Role, error) {
	for _, r := range roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q unknown: use %s", s, roleList)
}
