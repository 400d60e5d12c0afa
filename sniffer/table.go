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

// AppendVerdict appends v as a kind line and its evidence, indented.
func AppendVerdict(dst []byte, v Verdict) []byte {
	dst = append(dst, v.Kind.String()...)
	if v.Protocol != "" {
		dst = append(dst, " ("...)
		dst = append(dst, v.Protocol...)
		dst = append(dst, ')')
	}
	dst = append(dst, '\n')
	for _, e := range v.Evidence {
		for i, line := range strings.Split(e, "\n") {
			if i == 0 {
				dst = append(dst, "  - "...)
			} else {
				dst = append(dst, "    "...)
			}
			dst = append(dst, line...)
			dst = append(dst, '\n')
		}
	}
	return dst
}

// AppendFollow appends the reassembled payload of a flow as text, each
// direction under a header naming it (like Wireshark's Follow TCP
// Stream, one direction after the other). Bytes that are not text show
// as '.'.
func AppendFollow(dst []byte, f FlowSummary, names Names, fromClient, fromServer []byte) []byte {
	for d, data := range [2][]byte{fromClient, fromServer} {
		dst = append(dst, "== "...)
		dst = append(dst, f.Key.Proto.String()...)
		dst = append(dst, ' ')
		dst = append(dst, f.Key.direction(names, d)...)
		dst = append(dst, ": "...)
		dst = strconv.AppendInt(dst, int64(len(data)), 10)
		dst = append(dst, " bytes"...)
		if uint64(len(data)) < f.Payload[d] {
			dst = append(dst, " (of "...)
			dst = strconv.AppendUint(dst, f.Payload[d], 10)
			dst = append(dst, " seen)"...)
		}
		dst = append(dst, '\n')
		for _, c := range data {
			if !isText(c) || c == '\r' {
				c = '.'
			}
			dst = append(dst, c)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			dst = append(dst, '\n')
		}
	}
	return dst
}
