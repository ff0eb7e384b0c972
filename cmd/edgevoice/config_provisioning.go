package main

// provisioningConfig is the [provisioning] section of the config file (owned by the provisioning area).
type provisioningConfig struct{}

func (c *provisioningConfig) setDefaults() {}

func (c *provisioningConfig) validate() error { return nil }
