package sniffer

import (
	"strconv"
	"strings"
)

// AppendFlowTable appends flows as a text table, one flow a line, under a
// header line.
func AppendFlowTable(dst []byte, flows []FlowSummary) []byte {
	header := [...]string{"PROTO", "CLIENT", "SERVER", "PKTS", "BYTES", "FIRST", "LAST", "VERDICT"}
	rows := make([][len(header)]string, 0, len(flows)+1)
	rows = append(rows, header)
	for _, f := range flows {
		verdict := f.Verdict.Kind.String()
		if f.Verdict.Protocol != "" {
			verdict += " (" + f.Verdict.Protocol + ")"
		}
		if len(f.Verdict.Evidence) > 0 {
			first, _, _ := strings.Cut(f.Verdict.Evidence[0], "\n")
			verdict += " " + clip(first, 90)
		}
		rows = append(rows, [len(header)]string{
			f.Key.Proto.String(),
			f.ClientName + "." + strconv.Itoa(int(f.Key.Client.Port())),
			f.ServerName + "." + strconv.Itoa(int(f.Key.Server.Port())),
			strconv.FormatUint(f.Packets[0]+f.Packets[1], 10),
			humanBytes(f.Bytes[0] + f.Bytes[1]),
			f.First.Format("15:04:05.000000"),
			f.Last.Format("15:04:05.000000"),
			verdict,
		})
	}
	var width [len(header)]int
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		for i, c := range r {
			dst = append(dst, c...)
			if i < len(r)-1 {
				for n := len(c); n < width[i]+2; n++ {
					dst = append(dst, ' ')
				}
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// humanBytes renders n as 209B, 1.2K, 3.4M.
func humanBytes(n uint64) string {
	switch {
	case n < 1024:
		return strconv.FormatUint(n, 10) + "B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + "K"
	case n < 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + "M"
	}
	return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + "G"
}
