// Package realtime holds what every side of a realtime speech session agrees on: the
// event Dialect a session speaks, the ephemeral Key a session is opened with, and the
// SessionDefaults (instructions, voice, tools) a key is minted with.
//
// It is shared by the WebRTC client (rtc), the key daemon and providers (provisioning)
// and the local emulator (emulator), and depends on the standard library only, so the
// protocol layer never imports the key daemon. The data-channel events are in
// realtime/events.
package realtime
