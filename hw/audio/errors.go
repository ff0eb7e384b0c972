package audio

import "errors"

// ErrClosed is returned by Read and Write after Close.
var ErrClosed = errors.New("audio: stream closed")

// ErrNoDevice is wrapped by the error of an open whose device name matches no device;
// the message lists the devices that exist.
var ErrNoDevice = errors.New("audio: no such device")

// ErrDeviceStopped is reported (through Opts.OnState) when a device stopped on its own
// or stopped calling back, and is being reopened.
var ErrDeviceStopped = errors.New("audio: device stopped")

// ErrNoDriver is returned by an open or ListDevices when no Driver was given or
// registered: a main that opens devices imports hw/audio/malgo.
var ErrNoDriver = errors.New("audio: no device driver (import github.com/edgevoice/edgevoice/hw/audio/malgo)")

// ErrCloseStuck is wrapped by the error of a Close that returned while a device close
// was still blocked in the driver (see Opts.CloseTimeout).
var ErrCloseStuck = errors.New("audio: device close blocked in the driver")
