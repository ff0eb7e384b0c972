// Package rtc is the WebRTC session of the appliance to the Realtime API: Opus audio up
// and down over one pion/webrtc peer connection, JSON events on a data channel, push-to-
// talk with barge-in, pre-roll, and reconnects with a fresh key.
//
// # Use
//
//	s, err := rtc.New(key, rtc.WithKeySource(src), rtc.WithSessionConfig(cfg))
//	err = s.Start(ctx)          // connects in the background; Events() reports progress
//	go feed(s.WriteMic)         // 48 kHz mono float32, any chunk size, never blocks
//	n := s.ReadSpeaker(out)     // 48 kHz mono float32; silence when nothing is due
//	s.Press(); s.Release()      // push-to-talk; Press while the model speaks = barge-in
//	for ev := range s.Events()  // state changes, speaking, transcripts, errors
//	s.Close()                   // stops and joins everything
//
// # Connection
//
// Each connect builds a fresh peer connection from one pion API (MediaEngine with Opus
// only, PT 111 opus/48000/2 minptime=10;useinbandfec=1; NACK and RTCP report
// interceptors; a SettingEngine with the network options), adds one sendrecv audio
// transceiver and the data channel, gathers all candidates (no trickle) and POSTs the
// offer to Key.SDPURL with "Authorization: Bearer". Any 2xx answer is accepted; the
// Location header's last segment is kept as the call id.
//
// States: New → Connecting → Connected → Disconnected → Reconnecting → Connected … →
// Closed. A failed, closed or timed-out peer connection, a closed data channel and a
// server error that ends the session are all reconnect causes; each reconnect waits a
// jittered exponential backoff and asks the KeySource for a fresh key. An HTTP 4xx
// other than 401/403 (a configuration error) ends in Closed with the server's message.
//
// # Faults and where they end
//
//	SDP 401/403, key refused or expired   → fresh key from the KeySource, retry (Closed with ErrUnauthorized without one)
//	SDP 5xx, 408, 429, network error       → Disconnected, backoff, Reconnecting with a fresh key
//	SDP other 4xx (bad URL, model, body)   → Closed with *HTTPError carrying the server's error.message
//	key expired and no KeySource           → Closed with ErrNoKey
//	answer or ICE/DTLS slower than ConnectTimeout → Disconnected, retry
//	peer connection failed or closed (pion may go straight to Closed), data channel closed,
//	server error session_expired           → Disconnected, backoff, Reconnecting with a fresh key
//
// A failing KeySource (its mint answered 401/403 — provisioning.ErrCredentialRejected —
// or 5xx, a network error, no key daemon) is a reconnect cause like the rest: Disconnected
// with the KeySource's error wrapped as the cause (errors.Is and errors.As reach it), the
// jittered backoff, Reconnecting, and the KeySource is asked again, for as long as it
// fails; no error event is sent. The session never closes on its own over it, so a
// replaced credential or a backend that comes back reconnects the same Session; a caller
// that wants to give up on a rejected credential looks at the cause and calls Close. Only
// an error wrapping ErrNoKey ends in Closed with that error.
//
// # Push-to-talk
//
// Press: input_audio_buffer.clear, then the mic is sent. Release: the mic stops, the
// buffered audio is sent out, the session waits until the receiver has played it (the
// service plays incoming audio at real time, so audio sent ahead of real time by a
// catch-up is still queued there: the wait adds how far the uplink ran ahead) plus
// ReleaseSettle for in-flight packets and the service's jitter buffer, then sends
// input_audio_buffer.commit and response.create (WithCommitRule, WithUplinkLead, and
// commit.go for the measurements). Press while a response
// is playing (barge-in) first sends response.cancel and output_audio_buffer.clear and
// flushes the local jitter buffer and playout ring at once; downlink audio is then
// discarded until the server starts a new response, so nothing of the cancelled one
// plays. response.cancel is sent only while a response is active (between
// response.created and response.done): the service sends response.done before its audio
// has played out, and a cancel after it is an error (response_cancel_not_active), so a
// barge-in then sends output_audio_buffer.clear alone.
//
// # Server VAD
//
// With server_vad or semantic_vad the mic is live from Press to Release (it is closed
// until the first Press) and the service decides where each turn ends: its
// speech_started / speech_stopped become EventSpeechStarted / EventSpeechStopped (and
// EventThinking). Release closes the mic (EventMicClosed) and, if the service has heard
// speech it has not committed (speech_started without speech_stopped), commits it and
// asks for the answer; otherwise it sends nothing.
//
// # Turns and connections
//
// A turn released but not yet committed when its connection ends is dropped: the rest
// of its audio is discarded and nothing is committed on the next connection. Every
// connection after the first starts with input_audio_buffer.clear, and no audio is sent
// until input_audio_buffer.cleared (at most 1 s). A press still held carries over.
//
// Client events carry an event_id (evt_N); an error event naming one is reported with
// the client event that caused it. rate_limits.updated is kept in Stats.RateLimits.
//
// # Renewal and hang-up
//
// session.created/updated expires_at arms a renewal RenewMargin (default 1 min) before
// it; once due and no turn is in progress, the connection is replaced at once, without
// a backoff and without a state change (Stats.Renewals). Closing a connection (Close, a
// reconnect, a renewal) hangs up the call first so the service does not keep it until
// its ICE times out: GA POSTs <SDP URL>/{call_id}/hangup with the key (call id from the
// answer's Location); the preview API documents no hang-up, so the data channel is
// closed (waited for) before the peer connection. Both are bounded by HangupTimeout
// (default 1 s) and failures are only logged at debug.
//
// # Pre-roll
//
// Audio written after Press but before the connection is up is kept in a keep-last ring
// (WithPreRoll, default 2 s; older audio is dropped — a bounded skip). Once the track is
// bound and, with a session config, the service has answered session.update with
// session.updated (so no audio meets the key's default server VAD; at most 1 s is waited
// for it), it is sent as a paced catch-up: at most CatchUp × real time (default 2×), so a
// 300 ms backlog is delivered within about 300 ms more and the peer receives every frame
// with continuous RTP timestamps (measured: a press 300 ms before the SDP answer, 800 ms
// of speech, the peer commits all 800 ms; with a 100 ms pre-roll and a 450 ms connect it
// gets the newest 520 ms and the rest is counted in Stats.MicDropped). On a fresh connection no input_audio_buffer.clear is
// sent for a press that is already held (the buffer is empty and a clear would race
// with the pre-roll).
//
// # Audio paths
//
// Uplink: WriteMic → keep-last ring → 20 ms frames → Opus (VoIP, FEC) →
// TrackLocalStaticSample.WriteSample, on one goroutine, without allocations in this
// package. Downlink: OnTrack → ReadRTP → rtc/jitter reorder buffer → Opus decode (FEC
// from the next packet for a single loss, PLC otherwise) → playout ring → ReadSpeaker,
// which pre-buffers PlayoutDelay before it starts or restarts after an underrun.
package rtc
