package tui

import (
	"strings"

	"github.com/ztlab/zt-lab/infra"
	"github.com/ztlab/zt-lab/mesh"
	"github.com/ztlab/zt-lab/scenes"
)

// clusterPanel is the cluster panel: raft, the members, the intentions.
func (m *Model) clusterPanel(w, _ int) []string { return clusterPanel(m.st, m.clusterData(), w) }

// clusterData is what the cluster panel shows.
type clusterData struct {
	view     mesh.View
	have     bool
	err      string
	servers  []scenes.HostView
	deployed bool
}

func (m *Model) clusterData() clusterData {
	d := clusterData{view: m.mesh, have: m.haveMesh, err: m.meshErr, deployed: m.snap.lab}
	for _, h := range m.snap.hosts {
		if h.Role == infra.RoleConsul {
			d.servers = append(d.servers, h)
		}
	}
	return d
}

// clusterPanel shows the raft peers with the leader marked, the members
// as `consul members` does, and the intentions.
func clusterPanel(st *Styles, d clusterData, w int) []string {
	var lines []string
	if !d.have || len(d.view.Members) == 0 && len(d.view.Peers) == 0 {
		lines = append(lines, " "+st.Dim.Render("No cluster to show yet."))
		if d.err != "" {
			lines = append(lines, " "+st.Error.Render(d.err))
		}
		for _, h := range d.servers {
			lines = append(lines, "   "+st.Bold.Render(h.Name)+" "+hostState(st, h, d.deployed))
		}
		return lines
	}
	v := d.view
	leader := st.Fail.Render("none: no quorum")
	if v.Leader != "" {
		leader = st.Leader.Render("★ " + v.Leader)
	}
	lines = append(lines, " "+st.Title.Render("Raft")+st.Dim.Render("  leader ")+leader)
	for _, p := range v.Peers {
		mark := "  "
		if p == v.Leader {
			mark = st.Leader.Render("★ ")
		}
		lines = append(lines, "   "+mark+st.Text.Render(p)+st.Dim.Render(" voter"))
	}
	lines = append(lines, "", " "+st.Title.Render("Members")+st.Dim.Render("  consul members"))
	nameW, addrW := 8, 11
	for _, mb := range v.Members {
		nameW, addrW = max(nameW, len(mb.Name)), max(addrW, len(mb.Addr))
	}
	lines = append(lines, "   "+st.Dim.Render(pad("Node", nameW)+"  "+pad("Address", addrW)+"  "+pad("Status", 7)+"  Type"))
	for _, mb := range v.Members {
		status := st.HostUp.Render(pad(mb.Status, 7))
		if mb.Status != "alive" {
			status = st.HostFailed.Render(pad(mb.Status, 7))
		}
		lines = append(lines, "   "+st.Bold.Render(pad(mb.Name, nameW))+"  "+st.Text.Render(pad(mb.Addr, addrW))+"  "+status+"  "+st.Text.Render(mb.Role))
	}
	if len(v.Intentions) > 0 {
		lines = append(lines, "", " "+st.Title.Render("Intentions"))
		for _, in := range v.Intentions {
			style := st.Text
			if strings.Contains(in, "deny") {
				style = st.Fail
			} else if strings.Contains(in, "allow") {
				style = st.Pass
			}
			lines = append(lines, "   "+style.Render(in))
		}
	}
	return lines
}
