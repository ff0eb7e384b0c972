package main

// sessionConfig is the [session] section of the config file (owned by the rtc area).
type sessionConfig struct{}

func (c *sessionConfig) setDefaults() {}

func (c *sessionConfig) validate() error { return nil }
