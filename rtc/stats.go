package rtc

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgevoice/edgevoice/rtc/jitter"
	"github.com/pion/webrtc/v4"
)

type statsCounters struct {
	connects, reconnects          atomic.Uint64
	packetsSent, bytesSent        atomic.Uint64
	packetsRecv, bytesRecv        atomic.Uint64
	recovered, concealedSamples   atomic.Uint64
	decodedSamples, playedSamples atomic.Uint64
	silenceSamples                atomic.Uint64
	playOverruns, playUnderruns   atomic.Uint64
	discarded, bargeIns           atomic.Uint64
	encodeErrors, sendErrors      atomic.Uint64
	decodeErrors, malformed       atomic.Uint64
	readErrors                    atomic.Uint64
	eventsDropped, cmdsDropped    atomic.Uint64
	pressToFirst                  atomic.Int64
	mu                            sync.Mutex
	jit                           jitter.Stats
	connectTime, handshakeTime    time.Duration
	callID                        string
	connectedAt                   time.Time
	upBase, downBase              uint64
	jitterNS                      atomic.Int64
	renewals                      atomic.Uint64
	fallbacks                     atomic.Uint64 // transport.go
	toolCalls, toolsCancelled     atomic.Uint64 // tools.go
	rateLimits                    []RateLimit
	expiresAt                     time.Time
}

func (c *statsCounters) setConnect(total, handshake time.Duration, callID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connectTime, c.handshakeTime, c.callID = total, handshake, callID
	c.connectedAt = time.Now()
	c.upBase, c.downBase = c.bytesSent.Load(), c.bytesRecv.Load()
}

func (c *statsCounters) setJitter(j jitter.Stats) {
	c.mu.Lock()
	c.jit = j
	c.mu.Unlock()
}

// Stats is a snapshot of a session's counters. Counters run over the whole session
// (all connections) unless noted.
type Stats struct {
	State      State
	Transport  Transport // of the current or last connection
	Fallbacks  uint64    // auto: WebRTC could not connect and WebSocket was used
	CallID     string    // of the current or last connection (from Location)
	Connects   uint64
	Reconnects uint64
	// ConnectTime is offer creation → connected of the last connect; HandshakeTime the
	// part after the SDP answer arrived (ICE checks + DTLS), its ICE/DTLS share.
	ConnectTime   time.Duration
	HandshakeTime time.Duration
	// PressToFirstPacket: from the last Press to the first RTP packet written for it.
	PressToFirstPacket time.Duration
	RTT                time.Duration // ICE candidate pair round-trip time (current connection)
	Jitter             time.Duration // RFC 3550 interarrival jitter of the received stream

	PacketsSent, PacketsReceived uint64
	BytesSent, BytesReceived     uint64
	// PacketsLost were declared lost by the jitter buffer; PacketsRecovered of them were
	// rebuilt from FEC, the rest concealed (ConcealedTime).
	PacketsLost, PacketsRecovered, PacketsLate uint64
	ConcealedTime                              time.Duration
	DecodedTime, PlayedTime, SilenceTime       time.Duration
	PlayoutUnderruns, PlayoutOverrunSamples    uint64
	DiscardedPackets                           uint64 // dropped after a barge-in
	BargeIns                                   uint64
	MicDropped                                 uint64 // pre-roll samples dropped (oldest first)
	// CommitWait is the last release's wait from its last packet to the commit: the
	// settle, plus under CommitAfterMedia how far the uplink ran ahead of real time.
	CommitWait    time.Duration
	Malformed     uint64 // undecodable server events
	EventsDropped uint64 // events nobody read in time
	Errors        uint64 // encode, send and decode errors
	// ReadErrors: reads of the remote audio track that failed with something other than
	// its end or a quiet spell (the downlink reads on after each).
	ReadErrors uint64
	// BitrateUp/Down: Opus payload bits per second since the current connection came up.
	BitrateUp, BitrateDown float64
	// Renewals: connections replaced between turns before the service's expires_at.
	Renewals uint64
	// ExpiresAt is the current session's expires_at (zero if the service gave none).
	ExpiresAt time.Time
	// RateLimits is the service's last rate_limits.updated (nil before the first).
	RateLimits []RateLimit
	// ToolCalls: function-call outputs sent; ToolsCancelled: calls cancelled while
	// running (barge-in, press, lost connection), whose outputs were not sent.
	ToolCalls, ToolsCancelled uint64
}

func samplesDur(n uint64) time.Duration { return time.Duration(n) * time.Second / sampleRate }

// Stats returns a snapshot.
func (s *Session) Stats() Stats {
	c := &s.st
	c.mu.Lock()
	j := c.jit
	st := Stats{
		ConnectTime: c.connectTime, HandshakeTime: c.handshakeTime, CallID: c.callID,
		PacketsLost: j.Lost, PacketsLate: j.Late, ExpiresAt: c.expiresAt, RateLimits: slices.Clone(c.rateLimits),
	}
	since, upBase, downBase := c.connectedAt, c.upBase, c.downBase
	c.mu.Unlock()
	st.Jitter = time.Duration(c.jitterNS.Load())
	st.State = s.State()
	st.Transport, st.Fallbacks = s.Transport(), c.fallbacks.Load()
	st.Connects, st.Reconnects, st.Renewals = c.connects.Load(), c.reconnects.Load(), c.renewals.Load()
	st.PressToFirstPacket = time.Duration(c.pressToFirst.Load())
	st.PacketsSent, st.PacketsReceived = c.packetsSent.Load(), c.packetsRecv.Load()
	st.BytesSent, st.BytesReceived = c.bytesSent.Load(), c.bytesRecv.Load()
	st.PacketsRecovered = c.recovered.Load()
	st.ConcealedTime = samplesDur(c.concealedSamples.Load())
	st.DecodedTime = samplesDur(c.decodedSamples.Load())
	st.PlayedTime = samplesDur(c.playedSamples.Load())
	st.SilenceTime = samplesDur(c.silenceSamples.Load())
	st.PlayoutUnderruns, st.PlayoutOverrunSamples = c.playUnderruns.Load(), c.playOverruns.Load()
	st.DiscardedPackets, st.BargeIns = c.discarded.Load(), c.bargeIns.Load()
	st.MicDropped = s.mic.Overruns()
	st.CommitWait = time.Duration(s.pace.lastWait.Load())
	st.Malformed = c.malformed.Load()
	st.ToolCalls, st.ToolsCancelled = c.toolCalls.Load(), c.toolsCancelled.Load()
	st.EventsDropped = c.eventsDropped.Load()
	st.ReadErrors = c.readErrors.Load()
	st.Errors = c.encodeErrors.Load() + c.sendErrors.Load() + c.decodeErrors.Load()
	if secs := time.Since(since).Seconds(); !since.IsZero() && secs > 0 {
		st.BitrateUp = float64(st.BytesSent-upBase) * 8 / secs
		st.BitrateDown = float64(st.BytesReceived-downBase) * 8 / secs
	}
	if tgt := s.upTrack.Load(); tgt != nil && tgt.c.pc != nil { // no RTT on WebSocket
		st.RTT = pairRTT(tgt.c.pc)
	}
	return st
}

// pairRTT is the round-trip time of the selected ICE candidate pair. It asks the ICE
// transport, not PeerConnection.GetStats: pion closes a peer connection on its own when
// the remote end closes DTLS, and GetStats reads fields that close writes without a lock
// (a data race seen under -race when Stats ran during a hang-up).
func pairRTT(pc *webrtc.PeerConnection) time.Duration {
	sctp := pc.SCTP()
	if sctp == nil {
		return 0
	}
	dtls := sctp.Transport()
	if dtls == nil {
		return 0
	}
	ice := dtls.ICETransport()
	if ice == nil {
		return 0
	}
	if x, ok := ice.GetSelectedCandidatePairStats(); ok && x.CurrentRoundTripTime > 0 {
		return time.Duration(x.CurrentRoundTripTime * float64(time.Second))
	}
	return 0
}
