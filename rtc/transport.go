package rtc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgevoice/edgevoice/realtime"
)

// Transport says how a session reaches the service.
type Transport int32

const (
	// TransportWebRTC is a peer connection: Opus over RTP, events on a data channel.
	TransportWebRTC Transport = iota
	// TransportWebSocket is one WebSocket (TLS 443): events as text frames, audio as
	// base64 pcm16 24 kHz inside them.
	TransportWebSocket
	// TransportAuto uses WebRTC and falls back to WebSocket when WebRTC cannot connect
	// (ICE/DTLS), trying WebRTC again after WithWebRTCRetry.
	TransportAuto
)

// String returns the config name ("webrtc", "websocket", "auto").
func (t Transport) String() string {
	switch t {
	case TransportWebRTC:
		return "webrtc"
	case TransportWebSocket:
		return "websocket"
	case TransportAuto:
		return "auto"
	}
	return fmt.Sprintf("Transport(%d)", int(t))
}

// ParseTransport parses a config name (see Transport.String).
func ParseTransport(s string) (Transport, error) {
	for _, t := range []Transport{TransportWebRTC, TransportWebSocket, TransportAuto} {
		if s == t.String() {
			return t, nil
		}
	}
	return 0, fmt.Errorf("rtc: unknown transport %q (use webrtc, websocket or auto)", s)
}

// defaultWebRTCRetry is how long auto stays on WebSocket before it tries WebRTC again.
const defaultWebRTCRetry = 10 * time.Minute

// WithTransport sets the transport (default TransportWebRTC).
func WithTransport(t Transport) Option {
	return func(s *Session) error {
		if t < TransportWebRTC || t > TransportAuto {
			return fmt.Errorf("rtc: unknown transport %d", int(t))
		}
		s.cfg.transport = t
		return nil
	}
}

// WithWebSocketURL sets the WebSocket URL (wss://…) instead of the one derived from the
// key's SDP URL (see wsURL). Needed for the Azure preview, whose WebRTC host is a
// regional one while its WebSocket lives on the resource's host.
func WithWebSocketURL(u string) Option {
	return func(s *Session) error {
		if u != "" {
			if _, err := checkWSURL(u); err != nil {
				return err
			}
		}
		s.cfg.wsURL = u
		return nil
	}
}

// WithWebRTCRetry sets how long TransportAuto stays on WebSocket after a fallback before
// it tries WebRTC again (default 10 min; 1 s .. 24 h). The switch back happens only
// while idle (like a session renewal), never during a turn.
func WithWebRTCRetry(d time.Duration) Option {
	return func(s *Session) error {
		if d < time.Second || d > 24*time.Hour {
			return fmt.Errorf("rtc: WebRTC retry %v out of range (1s..24h)", d)
		}
		s.cfg.webrtcRetry = d
		return nil
	}
}

// Transport returns the transport of the current (or last) connection: WebRTC or
// WebSocket, never Auto.
func (s *Session) Transport() Transport { return Transport(s.curTransport.Load()) }

// transportFor returns the transport of the next connection attempt.
func (s *Session) transportFor(now time.Time) Transport {
	switch s.cfg.transport {
	case TransportWebSocket:
		return TransportWebSocket
	case TransportAuto:
		if !s.fellBackAt.IsZero() && now.Sub(s.fellBackAt) < s.cfg.webrtcRetry {
			return TransportWebSocket
		}
		return TransportWebRTC
	}
	return TransportWebRTC
}

// dialTransport dials key over the transport due now.
func (s *Session) dialTransport(ctx context.Context, key realtime.Key) (*conn, error) {
	t := s.transportFor(time.Now())
	if t == TransportWebRTC && s.cfg.transport == TransportAuto && !s.fellBackAt.IsZero() {
		s.cfg.log.Info("rtc: trying WebRTC again after the WebSocket fallback")
		s.fellBackAt = time.Time{}
	}
	s.curTransport.Store(int32(t))
	if t == TransportWebSocket {
		return s.dialWS(ctx, key)
	}
	return s.dial(ctx, key)
}

// fallBack decides, after a connection attempt ended with err, whether auto switches to
// WebSocket at once: only when WebRTC never came up for a reason of its own (ICE or
// DTLS failed or timed out), not when the service refused us (HTTP errors).
func (s *Session) fallBack(c *conn, up bool, err error) bool {
	if s.cfg.transport != TransportAuto || up || err == nil || (c != nil && c.ws != nil) ||
		s.Transport() != TransportWebRTC {
		return false
	}
	if !errors.Is(err, errConnectTimeout) && !errors.Is(err, errPCFailed) && !errors.Is(err, errPCClosed) && !errors.Is(err, errGather) {
		return false
	}
	s.fellBackAt = time.Now()
	s.st.fallbacks.Add(1)
	s.cfg.log.Warn("rtc: WebRTC could not connect; falling back to WebSocket", "cause", err, "webrtc_retry_in", s.cfg.webrtcRetry)
	s.emit(Event{Kind: EventError, Err: fmt.Errorf("rtc: WebRTC could not connect (%w); using WebSocket, WebRTC again in %v", err, s.cfg.webrtcRetry), Transport: TransportWebSocket})
	return true
}

// retryWebRTC returns a channel that fires when an auto session on WebSocket should go
// back to WebRTC (nil otherwise): serve then ends the connection at the next idle
// moment, like a renewal.
func (c *conn) retryWebRTC() <-chan time.Time {
	if c.ws == nil || c.s.cfg.transport != TransportAuto || c.ws.retryTimer == nil {
		return nil
	}
	return c.ws.retryTimer.C
}

// transportDefaults fills in the transport settings left unset.
func (c *config) transportDefaults() {
	if c.webrtcRetry == 0 {
		c.webrtcRetry = defaultWebRTCRetry
	}
	if c.wsReadLimit == 0 {
		c.wsReadLimit = defaultWSReadLimit
	}
	if c.wsWriteTO == 0 {
		c.wsWriteTO = defaultWSWriteTimeout
	}
}

// WithWebSocketLimits sets the largest server message accepted (default 1 MiB; 4 KiB ..
// 64 MiB) and how long one write may take before the socket counts as stalled (default
// 5 s; 100 ms .. 1 min).
func WithWebSocketLimits(readLimit int64, writeTimeout time.Duration) Option {
	return func(s *Session) error {
		if readLimit < 4<<10 || readLimit > 64<<20 {
			return fmt.Errorf("rtc: WebSocket read limit %d out of range (4 KiB..64 MiB)", readLimit)
		}
		if writeTimeout < 100*time.Millisecond || writeTimeout > time.Minute {
			return fmt.Errorf("rtc: WebSocket write timeout %v out of range (100ms..1m)", writeTimeout)
		}
		s.cfg.wsReadLimit, s.cfg.wsWriteTO = readLimit, writeTimeout
		return nil
	}
}
