package control

import (
	"github.com/edgevoice/edgevoice/provisioning/keyd"

	"github.com/edgevoice/edgevoice/appliance"
)

// Status is everything `edgevoice status` shows.
type Status struct {
	Version      string            `json:"version"`
	PID          int               `json:"pid"`
	Config       string            `json:"config"`
	Appliance    appliance.Status  `json:"appliance"`
	Audio        []AudioStatus     `json:"audio"`
	Provisioning *ProvisioningView `json:"provisioning,omitempty"`
}

// AudioStatus is one audio device (or WAV file) of the appliance.
type AudioStatus struct {
	Role      string `json:"role"` // "mic" or "speaker"
	Device    string `json:"device"`
	Format    string `json:"format"`
	State     string `json:"state"`
	Overruns  uint64 `json:"overruns"`
	Underruns uint64 `json:"underruns"`
	Errors    uint64 `json:"device_errors"`
	Reopens   uint64 `json:"reopens"`
}

// ProvisioningView is the key daemon's answer, or why there is none.
type ProvisioningView struct {
	Error  string       `json:"error,omitempty"`
	Status *keyd.Status `json:"status,omitempty"`
}
