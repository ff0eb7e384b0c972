// Package malgo is the audio device driver of hw/audio: it opens ALSA, PulseAudio/
// PipeWire and null-backend devices through miniaudio (github.com/gen2brain/malgo). It
// is the only package of the module that imports malgo, and the only one in hw that
// uses cgo.
//
// Importing it registers [Driver] with audio.RegisterDriver, so audio.OpenCapture,
// audio.OpenPlayback and audio.ListDevices use it:
//
//	import _ "github.com/edgevoice/edgevoice/hw/audio/malgo"
//
// Device names resolve as an exact id or name, an ALSA PCM specification ("hw:2,0",
// "plughw:CARD=Array,DEV=0"), or a unique substring of a name; an unknown name fails
// with an error wrapping audio.ErrNoDevice that lists the devices that exist.
//
// miniaudio calls the data callback on its own thread with C memory valid only during
// the call; the callbacks hw/audio passes copy out and return, never block or allocate.
// The null backend (audio.BackendNull) is a correctly paced silent device for tests.
package malgo
