//go:build provisiond

package main

// validateDevices: the key-daemon build has no hw/audio; `edgevoice check-config` and
// `edgevoice run` (the full build) check the devices.
func (c *audioConfig) validateDevices() []error { return nil }
