package main

// rtcConfig is the [rtc] section of the config file (owned by the rtc area).
type rtcConfig struct{}

func (c *rtcConfig) setDefaults() {}

func (c *rtcConfig) validate() error { return nil }
