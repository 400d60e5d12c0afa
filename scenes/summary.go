package scenes

// sceneSummary is the report card: every check run so far, on whatever
// lab there is.
func sceneSummary() Scene {
	return Scene{
		ID: "summary", Title: "Summary", Panel: PanelReport,
		AnyStage: true,
		Steps: []Step{{
			Title: "Report card",
			Shell: "zt-lab run --json report.json",
		}},
	}
}
