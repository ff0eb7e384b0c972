// Command edgevoice is the firmware of a voice appliance: a talk button and LEDs on GPIO,
// an ALSA microphone array, and a WebRTC session to a realtime speech-to-speech model.
//
// Commands: run (the appliance, edgevoice.service), status, demo, emulator (a local
// realtime service), sim, pins, smoketest, the audio diagnostics (devices, record, play,
// levels), check-config and version. The key daemon is edgevoice-provisiond and the
// reference broker edgevoice-broker. Run "edgevoice help" for the list.
package main
