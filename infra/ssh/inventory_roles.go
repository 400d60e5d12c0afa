package sshlab

import (
	"fmt"

	"github.com/ztlab/zt-lab/infra"
)

var roles = []infra.Role{infra.RoleConsul, infra.RoleService, infra.RoleConsumer, infra.RoleOther}

const roleList = "consul, fcs, fcc or other"

// parseRole is the role a user named.
func parseRole(s string) (infra.Role, error) {
	for _, r := range roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q unknown: use %s", s, roleList)
}
