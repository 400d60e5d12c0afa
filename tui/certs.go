package tui

import (
	"time"

	"github.com/ztlab/zt-lab/mesh"
)

// certsPanel is the certificates panel: the Connect CA and the services'
// identities, as Options.Mesh says them.
func (m *Model) certsPanel(w, _ int) []string {
	return certsPanel(m.st, m.mesh, m.haveMesh, m.meshErr, w)
}

// certsPanel shows the Connect CA's roots and each service's identity.
func certsPanel(st *Styles, v mesh.View, have bool, errText string, w int) []string {
	if !have || len(v.Roots) == 0 && len(v.Leaves) == 0 {
		lines := []string{" " + st.Dim.Render("No certificates yet: the Connect CA signs them once the mesh is up.")}
		if errText != "" {
			lines = append(lines, " "+st.Error.Render(errText))
		}
		return lines
	}
	lines := []string{" " + st.Title.Render("Connect CA roots")}
	for _, r := range v.Roots {
		mark := "  "
		if r.Active {
			mark = st.Leader.Render("★ ")
		}
		lines = append(lines, "   "+mark+st.Bold.Render(r.Name)+st.Dim.Render(" until "+day(r.NotAfter)))
		lines = append(lines, "     "+st.Dim.Render("sha256 "+r.Fingerprint))
	}
	lines = append(lines, "", " "+st.Title.Render("Service identities")+st.Dim.Render("  leaf certificates"))
	for _, c := range v.Leaves {
		lines = append(lines, "   "+st.Lock.Render("🔒 ")+st.Bold.Render(c.Service)+"  "+st.Text.Render(c.URI))
		lines = append(lines, "      "+st.Dim.Render("serial "+c.Serial+" · valid "+stamp(c.NotBefore)+" to "+stamp(c.NotAfter)))
		if c.Root != "" {
			lines = append(lines, "      "+st.Dim.Render("signed by root "+c.Root))
		}
	}
	return lines
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
