// Command edgevoice is the firmware of a voice appliance: a talk button and LEDs on GPIO,
// an ALSA microphone array, and a WebRTC session to a realtime speech-to-speech model.
//
// One binary carries every subcommand: run (the appliance), provisiond (the key daemon),
// broker (a reference key backend for fleets), emulator (a local realtime service),
// demo, status, check, check-config and the audio diagnostics (devices, record, play,
// levels). Run "edgevoice help" for the list.
package main
