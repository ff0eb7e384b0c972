package main

// audioConfig is the [audio] section of the config file (owned by the audio area).
type audioConfig struct{}

func (c *audioConfig) setDefaults() {}

func (c *audioConfig) validate() error { return nil }
