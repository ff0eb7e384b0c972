package opus

// Mode is the coding mode named by an Opus packet's TOC byte (RFC 6716 §3.1).
type Mode int

// Modes.
const (
	ModeInvalid Mode = iota
	ModeSILK
	ModeHybrid
	ModeCELT
)

// String returns "silk", "hybrid", "celt" or "invalid".
func (m Mode) String() string {
	switch m {
	case ModeSILK:
		return "silk"
	case ModeHybrid:
		return "hybrid"
	case ModeCELT:
		return "celt"
	}
	return "invalid"
}

// PacketMode reads the mode from the TOC byte.
func PacketMode(pkt []byte) Mode {
	if len(pkt) == 0 {
		return ModeInvalid
	}
	switch cfg := pkt[0] >> 3; {
	case cfg < 12:
		return ModeSILK
	case cfg < 16:
		return ModeHybrid
	}
	return ModeCELT
}

// HasFEC reports whether pkt carries in-band FEC (SILK LBRR) data for the frame before
// it, following libopus' opus_packet_has_lbrr for single-frame packets: the LBRR flag is
// the bit after the per-frame VAD flags at the start of the first SILK frame. CELT-only
// packets never carry FEC. Packets with several frames report whether their mode can.
func HasFEC(pkt []byte) bool {
	mode := PacketMode(pkt)
	if mode != ModeSILK && mode != ModeHybrid {
		return false
	}
	if pkt[0]&0x3 != 0 || len(pkt) < 2 {
		// code 1-3 packets: not parsed here; SILK/hybrid may carry LBRR.
		return pkt[0]&0x3 != 0
	}
	cfg := pkt[0] >> 3
	// SILK frames inside one Opus frame: 40 and 60 ms SILK frames hold 2 and 3 20 ms ones.
	nb := 1
	if mode == ModeSILK {
		switch cfg & 3 {
		case 2:
			nb = 2
		case 3:
			nb = 3
		}
	}
	lbrr := (pkt[1] >> (7 - nb)) & 1
	if pkt[0]&0x4 != 0 { // stereo: the side channel's flags follow
		lbrr |= (pkt[1] >> (6 - 2*nb)) & 1
	}
	return lbrr == 1
}
