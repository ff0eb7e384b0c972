// Package provisioning mints and hands out the short-lived (ephemeral) keys that each
// realtime WebRTC session needs, so that long-lived credentials never reach the process
// that handles network audio.
//
// It holds the key providers (Azure preview, Azure GA, OpenAI GA and the edgevoice
// broker), the provisioning daemon, the key socket with its client, and the reference
// broker. It depends on the standard library only.
package provisioning
