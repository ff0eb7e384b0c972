package main

// boardConfig is the [board] section of the config file (owned by the hw area).
type boardConfig struct{}

func (c *boardConfig) setDefaults() {}

func (c *boardConfig) validate() error { return nil }
