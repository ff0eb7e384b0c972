// Package control is the appliance's local management interface: the control socket
// (status, remote triggers and an event stream, for `edgevoice status`, `edgevoice ctl`,
// dashboards and automations) and the Prometheus metrics endpoint. The appliance owns
// the state; this package serves what a status function returns and hands the remote
// triggers to a Remote (*appliance.Appliance).
//
// # Protocol (version 1)
//
// The control socket (/run/edgevoice/control.sock, [appliance] control_socket) is a unix
// stream socket. Access is by file mode: the socket is 0660 in /run/edgevoice (0770,
// user and group edgevoice), so root and members of the edgevoice group may use it.
//
// A client sends requests as JSON objects, one per line (at most 16 KiB), and gets one
// JSON line back for each, in order; a connection may carry any number of requests.
// Every request carries the protocol version "v" (1 today) and an "op":
//
//	{"v":1,"op":"status"}                  the status (as `edgevoice status -json` prints it)
//	{"v":1,"op":"press"}                   talk button down (barge-in while the model speaks)
//	{"v":1,"op":"release"}                 talk button up (hold mode: the turn is answered)
//	{"v":1,"op":"tap"}                     press and release at once (toggle mode: start/stop)
//	{"v":1,"op":"cancel"}                  stop the answer being prepared or played
//	{"v":1,"op":"mute"} / {"v":1,"op":"unmute"}
//	{"v":1,"op":"volume","value":0.6}      set the speaker volume (0..1)
//	{"v":1,"op":"volume","step":-0.1}      change it (the result is clamped to 0..1)
//	{"v":1,"op":"say","text":"…"}          answer a text prompt aloud (at most 4096 bytes)
//	{"v":1,"op":"subscribe"}               a stream of events (below)
//
// A request may carry an "id" (a string), which the answer repeats. The answer is
//
//	{"v":1,"ok":true,"op":"press","state":"listening"}
//	{"v":1,"ok":false,"op":"press","error":"muted: talk is ignored (unmute first)"}
//
// with "state" the state the LEDs show once the request took effect, "volume" for
// volume, and "status" for status. Remote triggers obey the state machine exactly as
// the buttons do: a press while muted is refused, a press while the model speaks
// interrupts it, a release in toggle mode is ignored. A line that is not JSON, a
// version other than 1, an unknown op or a line over the limit is answered with ok
// false and an error saying what was wrong; the connection stays usable. (A request
// without "v" is accepted for op status only, as older `edgevoice status` sent it.)
//
// After {"v":1,"op":"subscribe"} is answered, the connection streams events, one JSON
// line each, until the client closes it; the server reads nothing more from it:
//
//	{"v":1,"event":{"type":"state","at":"…","state":"listening","from":"idle","reason":"talk pressed"}}
//	{"v":1,"event":{"type":"transcript","at":"…","text":"…"}}         the assistant's answer
//	{"v":1,"event":{"type":"user-transcript","at":"…","text":"…"}}    the user's words
//	{"v":1,"event":{"type":"health","at":"…","state":"offline","detail":"…"}}
//	{"v":1,"event":{"type":"lagged","at":"…"}}                        last line: too slow
//
// The first event is the current state. A subscriber that falls 256 events behind is
// dropped with a final "lagged" event, so a slow reader never holds up the appliance.
//
// Limits: at most 32 connections at a time (more are answered with an error and
// closed), at most 16 subscriptions, and a connection idle for 5 minutes between
// requests is closed (a subscription is not idle).
package control
