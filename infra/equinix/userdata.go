package equinix

import (
	"fmt"
	"strings"

	"github.com/ztlab/zt-lab/infra"
)

// userData is the cloud-init a device boots with, unless the config
// replaces it: the tools the seeds' walkthrough types (nc, tcpdump), the
// lab's directory, and who the device is in the lab. zt-lab itself and the
// consul binary come later, over SSH.
func (l *Lab) userData(spec infra.HostSpec) string {
	if ud := l.p.cfg.UserData; ud != "" {
		return ud
	}
	var b strings.Builder
	fmt.Fprintf(&b, `#cloud-config
# zt-lab lab %[1]s: %[2]s (%[3]s)
package_update: true
packages:
  - netcat-traditional
  - tcpdump
write_files:
  - path: /etc/zt-lab/lab.env
    permissions: "0644"
    content: |
      ZTLAB_LAB=%[1]s
      ZTLAB_HOST=%[2]s
      ZTLAB_ROLE=%[3]s
runcmd:
  - [mkdir, -p, -m, "0700", %[4]s]
`, l.id, spec.Name, spec.Role, dataDir(l.id))
	return b.String()
}
