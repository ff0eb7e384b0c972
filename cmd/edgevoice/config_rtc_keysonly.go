//go:build provisiond

package main

// validate: the key-daemon build has no rtc package, so it checks the plain network
// values only; `edgevoice check-config` and `edgevoice run` check the rest.
func (c *rtcConfig) validate() error { return c.validateNet() }
