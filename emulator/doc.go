// Package emulator is the local realtime service: an HTTP server with the mint and SDP
// endpoints of the four provider profiles (and so a stand-in for the broker) and a pion
// peer connection on the server side that speaks the data-channel events of either
// dialect over loopback, and the WebSocket endpoints of the same dialects. It is a product feature (`edgevoice demo`, `edgevoice run
// -emulator`, `edgevoice emulator`) as well as the integration-test peer of rtc.
//
// # Keys go through the real providers
//
// The emulator serves the providers' wire shapes; the client side of minting is
// provisioning's own providers pointed at the emulator ([Server.Provider],
// [Server.MintKey], [KeySource]), so the demo and tests exercise the real provider code
// (request bodies, api-version, answer parsing) and not a copy of it.
//
// # Endpoints
//
//	POST /openai/realtimeapi/sessions?api-version=<provisioning.PreviewAPIVersion>  Azure preview mint (api-key) → client_secret{value,expires_at}
//	POST /openai/v1/realtime/client_secrets                           Azure GA mint (api-key or Bearer) → value, expires_at
//	POST /v1/realtime/client_secrets                                  OpenAI GA mint (Bearer) → value, expires_at
//	POST /v1/keys                                                     broker mint (Bearer device token) → value, expires_at, webrtc_url, protocol
//	POST /v1/realtimertc?model=...                                    preview SDP (Bearer ephemeral key) → 200 + answer
//	POST /v1/realtime/calls, /openai/v1/realtime/calls                GA SDP (Bearer ephemeral key) → 201 + answer + Location
//	POST /v1/realtime/calls/{id}/hangup (and /openai/v1/…)            GA hang-up (Bearer: the call's key) → 200, the call ends at once
//
//	GET  /openai/realtime?api-version=2025-04-01-preview&deployment=… WebSocket, Azure preview (ws.go)
//	GET  /openai/v1/realtime?model=…, /v1/realtime?model=…           WebSocket, Azure GA and OpenAI GA
//
// A WebSocket call is the same call as a WebRTC one (the same events, turns, VAD,
// tools and faults); audio comes in as input_audio_buffer.append (pcm16 24 kHz) into
// the same real-time playout and goes out as audio delta events paced at real time
// (ws.go, wsaudio.go say what is accepted and why).
//
// The preview API documents no hang-up: a preview client that closes its data channel
// has hung up, and the call ends at once ([CallStats].HungUp either way).
//
// Keys are only accepted on the SDP and WebSocket endpoints of their own dialect, until
// they expire.
//
// # Turns
//
// RTP audio received from the client goes through a jitter buffer that plays it out at
// real time, like the libwebrtc receiver of the real service (scheduled by RTP
// timestamp from WithPlayoutDelay, default 60 ms, after a talk spurt's first packet),
// into the session's input buffer: audio sent faster than real time waits there, and
// the VAD and a commit see only what has played (CallStats.Queued, Turn.Queued: what
// was still queued at the commit; it goes to the next turn).
// input_audio_buffer.commit turns the input buffer into an item (input_audio_buffer.committed,
// conversation.item.created, and a user transcript if transcription is on). A response
// (response.create, or automatically after a commit when server or semantic VAD with
// create_response is configured) sends response.created, the transcript deltas and
// done, output_audio_buffer.started, then plays the committed turn's own Opus packets
// back on the server's track (re-timestamped, paced in real time), and at the end
// response.done and output_audio_buffer.stopped. response.cancel and
// output_audio_buffer.clear stop the audio at once (response.done with status
// cancelled; output_audio_buffer.cleared). A response without audio sends no
// output_audio_buffer events, as the real service does. Each response starts with
// rate_limits.updated ([WithRateLimits]). With [WithResponseDoneBeforePlayout]
// response.done comes as soon as the answer is generated, while its audio still plays
// (output_audio_buffer.stopped follows at the end), as on the service; response.cancel
// without an active response is an error (response_cancel_not_active), and
// session.created's expires_at is when a [Faults].SessionLifetime ends the session.
//
// Voice activity detection is off unless [WithServerVAD] is given: then, in
// server_vad and semantic_vad sessions, the emulator finds turns itself
// (speech_started, speech_stopped after the silence duration, commit, response) and
// interrupts a playing response when speech starts (output_audio_buffer.cleared,
// response.done cancelled with reason turn_detected). Speech is told from silence per
// packet by a [SpeechDetector]; the default looks at the packet size only.
//
// # Scripted tool calls
//
// [WithToolScript] answers user turns with function calls and checks the client's
// outputs and follow-up (tools.go); [WithMCPScript] answers them with calls of a
// session's server-side MCP tool, asks for approval when its require_approval is
// "always", waits a bounded time for the client's mcp_approval_response and continues
// by itself (mcp.go). Deviations are in [CallStats] Tools.Violations and
// MCP.Violations.
//
// # Faults and counters
//
// [Faults] (set with [WithFaults] or [Server.SetFaults] at run time) make mint or SDP
// answer an HTTP error, mint expired keys, delay the answer, close the data channel or
// drop the peer connection after a while. [Server.Stats] returns what the emulator
// received and sent (requests, RTP packets and bytes, client and server events in
// order, committed turns with their Opus payloads); [Server.WaitStats] waits for a
// condition on them.
//
// ICE is restricted to loopback (127.0.0.0/8 on interface lo, no mDNS) unless a
// virtual network is given with [WithNet].
package emulator
