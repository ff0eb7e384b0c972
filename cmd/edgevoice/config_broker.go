package main

// brokerConfig is the [broker] section of the config file (owned by the provisioning area).
type brokerConfig struct{}

func (c *brokerConfig) setDefaults() {}

func (c *brokerConfig) validate() error { return nil }
