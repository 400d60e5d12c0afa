// Package sniffer is the lab's man in the middle: it captures frames on the
// wire (AF_PACKET, pure Go, with a BPF filter compiled here), or reads them
// as a pcap stream from a capture on another host, decodes them with
// gopacket, reassembles TCP streams, and says for every flow whether a
// fortune could be read — PLAINTEXT, ENCRYPTED or UNKNOWN — with the
// evidence. It also renders what it saw the way the seed's tcpdump -X
// session did, as a flow table, as a followed stream, and as a pcap file
// for Wireshark.
//
// The capture owns its goroutine and hands frames to its consumer through
// a bounded buffer: it never waits for the consumer, it counts what it had
// to drop instead. The Analyzer is fed by the consumer and is safe for
// concurrent use, so a UI can ask for flows while packets are fed.
//
// What the analyzer keeps is bounded: the first StreamLimit bytes of each
// direction of a flow (for Follow and the verdict), MemoryLimit bytes in
// all, MaxFlows flows. It classifies as bytes arrive: known fortunes are
// looked for over everything kept (a run of 23 bytes or more of a known
// fortune is always found, and counted exactly), printable ratio and
// entropy over the first 4 KiB of each direction, TLS records over the
// whole kept stream. A verdict says when it rests on less than the flow
// carried.
package sniffer
