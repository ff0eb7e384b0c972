// Package appliance is the state machine of the voice appliance: it turns button events,
// realtime session events, key fetch results and audio device faults into one of the
// states Idle, Connecting, Listening, Thinking, Speaking, Muted, Error, NoKey and Offline,
// shows it on the LEDs, and drives the session (press, release, barge-in, idle close).
//
// # Ownership
//
// One goroutine, Run, owns all state; everything else reaches it through channels
// (buttons, session events, connect results, audio faults), so a slow LED or log write
// cannot stall the session, and tests drive it with scripted button sequences. The audio
// pumps call WriteMic and ReadSpeaker from their own goroutines; those only load the
// current session atomically (mute and volume are atomics too).
//
// # Audio path
//
// RunMic and RunSpeaker are the audio path between the devices (hw/audio) and the
// session: mixer (channel select, average, delay-and-sum, DC block), resampler to and
// from the session's 48 kHz mono, channel expansion, and on a barge-in a flush of the
// playback queue. Their buffers are allocated before the first period; nothing
// allocates, blocks or logs per period. Both measure the level of what passes (dsp/meter,
// published through atomics), and Level gives the LED meter the mic level while
// listening and the speaker level while speaking.
//
// # Pre-roll
//
// A press with no session open starts recording at once: while the key is fetched and
// the session set up, the mic audio goes into a 2 s keep-last ring, which WriteMic hands
// to the session (already pressed) before anything newer. A turn released before its
// session came up is committed once the pre-roll has been handed over.
//
// # Buttons
//
//   - talk, hold mode (default): press starts a turn (and interrupts the model if it is
//     speaking: barge-in), release ends it and asks for the answer.
//   - talk, toggle mode: a press starts a turn, the next press ends it.
//   - with server or semantic VAD (Config.VAD) talk opens the mic instead of making one
//     turn: while it is held (or toggled on) the service ends each turn itself and the
//     LEDs show thinking and speaking with the mic-live mark on; the release (or stop
//     tap) closes the mic, commits speech the service heard but had not committed, and
//     starts the idle timer. The mic-live mark follows the session's mic.
//   - mute: a click toggles mute (the mic is not sent; the LED shows muted and the talk
//     button is ignored).
//   - volume_up / volume_down: a press changes the speaker volume by one step.
//   - long press (first threshold, 3 s) of mute, or of talk while the LED shows no-key,
//     offline or error: re-check provisioning and the network now.
//   - very long press (second threshold, 10 s) of the same: the service action: drop the
//     session and the cached key, re-check, and call Deps.Service (restart audio).
//
// # Remote triggers
//
// Press, Release, Tap, Cancel, SetMuted, SetVolume and Say (remote.go; the control
// socket's ops) hand their work to the Run goroutine, which applies it exactly like the
// matching button event, so mute wins, a press while the model speaks interrupts it and
// toggle mode is respected. Say has the model answer a text prompt aloud, connecting
// first when no session is open. Subscribe streams state, transcript and health events;
// a subscriber that falls 256 events behind is dropped, so none can hold up the loop.
//
// The package consumes small interfaces (Session, Indicator, KeySource), so tests run it
// against the real rtc session and the local emulator (emulator) with a recording
// indicator, and cmd/edgevoice wires it to hw/led, hw/button, hw/audio and the key socket.
package appliance
