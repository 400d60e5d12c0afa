package serve

import (
	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
)

func (s *server) instructor(sess ssh.Session) (tea.Model, []tea.ProgramOption) {
	return nil, nil
}
