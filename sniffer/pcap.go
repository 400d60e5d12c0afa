package sniffer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PcapWriter writes packets as a pcap file (Ethernet link type, microsecond
// timestamps), which Wireshark and tshark read.
type PcapWriter struct {
	w *pcapgo.Writer
}

// NewPcapWriter writes the pcap file header to w and returns a writer for
// the packets.
func NewPcapWriter(w io.Writer, snaplen int) (*PcapWriter, error) {
	if snaplen <= 0 {
		snaplen = 262144
	}
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(uint32(snaplen), layers.LinkTypeEthernet); err != nil {
		return nil, fmt.Errorf("write pcap header: %w", err)
	}
	return &PcapWriter{w: pw}, nil
}

// WritePacket appends one packet.
func (pw *PcapWriter) WritePacket(p Packet) error {
	length := max(p.Length, len(p.Data))
	ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: length}
	if err := pw.w.WritePacket(ci, p.Data); err != nil {
		return fmt.Errorf("write pcap packet %d: %w", p.Seq, err)
	}
	return nil
}

// WritePcap writes packets to w as a whole pcap file.
func WritePcap(w io.Writer, packets []Packet, snaplen int) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	pw, err := NewPcapWriter(bw, snaplen)
	if err != nil {
		return err
	}
	for _, p := range packets {
		if err := pw.WritePacket(p); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// PcapPerm is the mode of every pcap file zt-lab writes: its owner's alone.
const PcapPerm = 0o600

// CreatePcap creates (or truncates) a pcap file at path that only its
// owner can read, whatever mode an existing file had.
func CreatePcap(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, PcapPerm)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(PcapPerm); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// SavePcap writes a pcap file at path with write — a Capture's
// WritePcap, for `--write FILE` at the end of a capture: to a temporary
// file first, renamed into place when complete, so that a reader never
// sees half a file.
func SavePcap(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*")
	if err != nil {
		return fmt.Errorf("save pcap %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := write(f); err != nil {
		return fmt.Errorf("save pcap %s: %w", path, err)
	}
	// A capture can hold what the lab's hosts said in the clear: only its
	// owner reads it.
	if err := f.Chmod(PcapPerm); err != nil {
		return fmt.Errorf("save pcap %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save pcap %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save pcap %s: %w", path, err)
	}
	return nil
}

// ReadPcap reads every packet of a pcap file written by WritePcap (or any
// Ethernet pcap), numbering them from 1.
func ReadPcap(r io.Reader) ([]Packet, error) {
	pr, err := pcapgo.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("read pcap: %w", err)
	}
	if lt := pr.LinkType(); lt != layers.LinkTypeEthernet {
		return nil, fmt.Errorf("read pcap: link type %v, want Ethernet", lt)
	}
	var out []Packet
	for {
		data, ci, err := pr.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read pcap packet %d: %w", len(out)+1, err)
		}
		out = append(out, Packet{Seq: uint64(len(out) + 1), Time: ci.Timestamp, Data: data, Length: ci.Length})
	}
}
